"""The page server: one threaded HTTP(S) server, standard library only, for the live page of one machine's run
(serve/live.py) and the dashboard of a cluster's cameras (serve/dashboard.py).

What differs between the two is the state the server is given, a PageState: its HTML, its JSON routes (which
the page polls every second), its MJPEG streams, its pictures and the actions it takes by POST (the labelling
page, serve/labelling.py). Every request first passes the Gate of serve/access.py (Host, token, cookie); only
the known routes answer.
"""

import contextlib
import json
import logging
import select
import socket
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

from maskdetect.errors import InputError
from maskdetect.serve.access import (
    CLIENT_TIMEOUT_S,
    DEFAULT_HOST,
    SECURITY_HEADERS,
    Gate,
    access_for,
    announce,
    without_token,
)

logger = logging.getLogger(__name__)
# How long a stream waits for a new frame before it checks whether the run has ended.
FRAME_WAIT_S = 1.0
# The largest JSON body a POST route reads.
MAX_POST_BYTES = 16 * 1024


def parse_address(text):
    """'[HOST:]PORT' as (host, port); the host defaults to 127.0.0.1, so the page is not on the network unless asked."""
    host, _, port = text.rpartition(":")
    try:
        number = int(port)
    except ValueError:
        number = -1
    if not 0 <= number <= 65535:
        raise InputError(f"a live page address is [HOST:]PORT, got {text!r}")
    return host or DEFAULT_HOST, number


def serve_page(state, address, page):
    """Start the page server of ``state`` at ``address`` ('[HOST:]PORT'), open to whom ``page`` (the --serve-*
    options, a maskdetect.settings.PageSettings) lets in."""
    host, port = parse_address(address)
    access = access_for(
        host,
        page.serve_token_file,
        page.serve_no_auth,
        page.serve_cert,
        page.serve_key,
        page.serve_allow_host,
        page.serve_max_clients,
    )
    return PageServer(state, host, port, access)


def numbered(path, prefix, suffix=""):
    """The number N in a path PREFIX N SUFFIX (/stream/3, /camera/3.jpg), or None: ASCII digits only ('²' is a
    digit to str.isdigit)."""
    if not (path.startswith(prefix) and path.endswith(suffix)):
        return None
    text = path[len(prefix) : len(path) - len(suffix)]
    return int(text) if text.isascii() and text.isdigit() and len(text) < 6 else None


class LatestFrames:
    """The newest JPEG of each source, handed from the thread that makes them to the server's threads; a version
    number per source tells a stream that a new one came."""

    def __init__(self, count):
        self._jpegs = [None] * count
        self._versions = [0] * count
        self._changed = threading.Condition()
        self.closed = False

    def __len__(self):
        return len(self._jpegs)

    def put(self, source, jpeg):
        with self._changed:
            self._jpegs[source] = jpeg
            self._versions[source] += 1
            self._changed.notify_all()

    def latest(self, source):
        """Source ``source``'s newest JPEG; None before the first, or for a source there is not."""
        with self._changed:
            return self._jpegs[source] if 0 <= source < len(self._jpegs) else None

    def next(self, source, seen_version):
        """(version, JPEG bytes) newer than ``seen_version``; (seen_version, None) when none came within
        FRAME_WAIT_S; None once closed."""
        with self._changed:
            if self._versions[source] == seen_version and not self.closed:
                self._changed.wait(FRAME_WAIT_S)
            if self.closed:
                return None
            if self._versions[source] == seen_version:
                return seen_version, None
            return self._versions[source], self._jpegs[source]

    def close(self):
        with self._changed:
            self.closed = True
            self._changed.notify_all()


class PageState:
    """What a PageServer serves. The server answers

    ``/``               with ``html()``;
    each JSON route     with ``json_routes()[route]()`` as JSON;
    ``/stream/N``       with an MJPEG stream of source N's frames in ``streams`` (a LatestFrames; None: no streams);
    ``PREFIX N.jpg``    with the JPEG ``picture_routes()[PREFIX](N)`` (404 while it is None), ``PREFIX N.png``
                        alike (sent as the JPEG or PNG its bytes are);
    a POST to a route   with the (status, JSON) ``post_routes()[route](body)`` returns, ``body`` being the request's
                        JSON object (``application/json`` of at most MAX_POST_BYTES, from the page's own origin);

    and 404 to anything else (405 to a POST elsewhere). ``title`` names the page in what the server says
    ("live page: http://...").
    """

    title: str = "page"
    streams: LatestFrames | None = None

    def html(self):
        raise NotImplementedError

    def json_routes(self):
        return {}

    def picture_routes(self):
        return {}

    def post_routes(self):
        return {}

    def close(self):
        """The server closes: streams end."""
        if self.streams is not None:
            self.streams.close()


class PageServer(ThreadingHTTPServer):
    """Serves ``state``'s page at http(s)://HOST:PORT/ on a background thread until closed, to those ``access``
    lets in (by default: those with a fresh token, on this machine)."""

    daemon_threads = True

    def __init__(self, state, host=DEFAULT_HOST, port=8000, access=None):
        self.state = state
        self.access = access or access_for(host)
        self.gate = Gate(self.access)
        try:
            super().__init__((host, port), _Handler)
        except OSError as error:
            raise InputError(f"cannot serve the {state.title} on {host}:{port}: {error.strerror or error}") from None
        if self.access.tls is not None:
            self.socket = self.access.tls.wrap_socket(self.socket, server_side=True, do_handshake_on_connect=False)
        self.url = f"{'https' if self.access.tls else 'http'}://{host}:{self.server_address[1]}/"
        self.token = self.access.token
        threading.Thread(target=self.serve_forever, daemon=True).start()
        announce(self.access, self.url, state.title, host)

    def handle_error(self, request, client_address):
        # A client that goes away or sends garbage is routine.
        logger.debug("page client %s: %s", client_address, sys.exc_info()[1])

    def close(self):
        self.state.close()
        self.shutdown()
        self.server_close()


class _Handler(BaseHTTPRequestHandler):
    """Lets a request through the server's Gate, then answers it from the server's PageState."""

    server_version = "maskdetect"
    sys_version = ""
    timeout = CLIENT_TIMEOUT_S
    protocol_version = "HTTP/1.0"

    def version_string(self):
        return self.server_version

    def do_GET(self):
        parts = urlsplit(self.path)
        refusal = self.server.gate.refusal(
            self.client_address[0], self.headers.get("Host"), parts.path, parts.query, self.headers.get("Cookie")
        )
        if refusal is not None:
            status, body, headers = refusal
            self.send(status, "text/plain", body, headers)
        else:
            self.route(parts.path)

    def do_POST(self):
        parts = urlsplit(self.path)
        action = self.server.state.post_routes().get(parts.path)
        if action is None:
            self.refuse()
            return
        refusal = self.server.gate.refusal(
            self.client_address[0], self.headers.get("Host"), parts.path, parts.query, self.headers.get("Cookie")
        )
        if refusal is not None:
            status, body, headers = refusal
            self.send(status, "text/plain", body, headers)
            return
        body = self.json_body()
        if isinstance(body, tuple):
            status, answer = body
        else:
            status, answer = action(body)
        self.send(status, "application/json", json.dumps(answer).encode())

    def refuse(self):
        self.send(405, "text/plain", b"not allowed\n")

    do_PUT = do_DELETE = do_PATCH = refuse  # noqa: N815

    def json_body(self):
        """The JSON object a POST sends, or the (status, JSON error) that refuses it: it must be JSON, small, and
        come from the page itself (a page of another site may send a form here, but with another Origin)."""
        origin = self.headers.get("Origin")
        if origin is not None and urlsplit(origin).netloc.lower() != (self.headers.get("Host") or "").lower():
            return 403, {"error": "only the page itself may send this"}
        if (self.headers.get("Content-Type") or "").split(";")[0].strip().lower() != "application/json":
            return 415, {"error": "send JSON (Content-Type: application/json)"}
        try:
            length = int(self.headers.get("Content-Length") or "")
        except ValueError:
            return 411, {"error": "a Content-Length is needed"}
        if not 0 <= length <= MAX_POST_BYTES:
            return 413, {"error": f"at most {MAX_POST_BYTES} bytes"}
        try:
            body = json.loads(self.rfile.read(length) or b"{}")
        except (OSError, ValueError, RecursionError):
            return 400, {"error": "the body is no JSON"}
        return body if isinstance(body, dict) else (400, {"error": "the body is no JSON object"})

    def route(self, path):
        state = self.server.state
        json_routes = state.json_routes()
        if path == "/":
            self.send(200, "text/html; charset=utf-8", state.html().encode())
        elif path in json_routes:
            self.send(200, "application/json", json.dumps(json_routes[path]()).encode())
        elif state.streams is not None and (number := numbered(path, "/stream/")) is not None and number < len(state.streams):
            with self.stream_slot() as slot:
                if slot:
                    self._stream(state.streams, number)
        else:
            for prefix, picture in state.picture_routes().items():
                for suffix in (".jpg", ".png"):
                    if (number := numbered(path, prefix, suffix)) is not None:
                        self._picture(picture(number))
                        return
            self.send(404, "text/plain", b"not found\n")

    def _picture(self, image):
        if image is None:
            self.send(404, "text/plain", b"no picture yet\n")
        else:
            self.send(200, "image/png" if image.startswith(b"\x89PNG") else "image/jpeg", image)

    def _stream(self, frames, source):
        self.start_stream("multipart/x-mixed-replace; boundary=frame")
        version = 0
        try:
            while (update := frames.next(source, version)) is not None:
                version, jpeg = update
                if jpeg is None:
                    if self.client_gone():
                        return
                    continue
                self.wfile.write(b"--frame\r\nContent-Type: image/jpeg\r\nContent-Length: %d\r\n\r\n" % len(jpeg))
                self.wfile.write(jpeg + b"\r\n")
        except OSError:
            pass  # the page was closed, or stopped reading for CLIENT_TIMEOUT_S

    def send(self, status, content_type, body, headers=None):
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            for name, value in {**SECURITY_HEADERS, **(headers or {})}.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)
        except OSError:
            pass  # the client went away

    @contextlib.contextmanager
    def stream_slot(self):
        """A place among the streams open at once (--serve-max-clients); None when there is none (503 sent)."""
        if not self.server.gate.streams.acquire(blocking=False):
            self.send(503, "text/plain", b"too many viewers; try again later\n", {"Retry-After": "10"})
            yield None
            return
        try:
            yield True
        finally:
            self.server.gate.streams.release()

    def client_gone(self):
        """True when the client of a stream has closed its end (checked while no frame is coming)."""
        try:
            readable, _, _ = select.select([self.connection], [], [], 0)
            return bool(readable) and self.connection.recv(1, socket.MSG_PEEK) == b""
        except (OSError, ValueError):
            return True

    def start_stream(self, content_type):
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        for name, value in SECURITY_HEADERS.items():
            self.send_header(name, value)
        self.end_headers()

    def log_message(self, format, *args):
        logger.debug("page: %s", without_token(format % args))
