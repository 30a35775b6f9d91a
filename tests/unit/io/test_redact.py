"""Camera passwords taken out of addresses before they are shown."""

from maskdetect.io.redact import redacted


def test_redaction_of_camera_addresses():
    assert redacted("rtsp://admin:s3cr3t@10.0.0.5:554/stream1") == "rtsp://admin:***@10.0.0.5:554/stream1"
    assert redacted("http://user:pa:ss@cam/x.mjpg") == "http://user:***@cam/x.mjpg"
    assert (
        redacted("rtspsrc location=rtsp://u:p@cam/x user-pw=hunter2 ! decodebin")
        == "rtspsrc location=rtsp://u:***@cam/x user-pw=*** ! decodebin"
    )
    assert redacted("door.mp4") == "door.mp4" and redacted(0) == "0"
