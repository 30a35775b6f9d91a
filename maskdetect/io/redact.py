"""Camera credentials never leave the process: the one way a source address is shown, served, written or logged."""

import re

# user:password@ in any URL (rtsp://, http://, ...), also inside a GStreamer pipeline's location=...
_USER_INFO = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)(?P<user>[^/@\s:]*)(?::[^/@\s]*)?@")
# GStreamer's rtspsrc and souphttpsrc take them as properties too.
_PROPERTIES = re.compile(r"\b(?P<name>user-pw|user-id|proxy-pw|password|passwd)=(?P<value>\"[^\"]*\"|'[^']*'|\S+)", re.I)


def redacted(source):
    """``source`` with any password (and the user of a pipeline's properties) replaced by ***:
    rtsp://admin:secret@cam/live becomes rtsp://admin:***@cam/live."""
    text = _USER_INFO.sub(
        lambda match: f"{match['scheme']}{match['user']}:***@" if match["user"] else f"{match['scheme']}***@", str(source)
    )
    return _PROPERTIES.sub(lambda match: f"{match['name']}=***", text)
