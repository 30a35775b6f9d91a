"""Serving a page only the right people can open: a token on every route (exchanged for a cookie), TLS, a check
of the Host header against DNS rebinding, a cap on open streams, timeouts and security headers.

The live page of one run and the cluster's dashboard are both served through here.
"""

import contextlib
import hashlib
import hmac
import ipaddress
import logging
import os
import re
import secrets
import select
import socket
import ssl
import stat
import sys
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from maskdetect.errors import InputError

logger = logging.getLogger(__name__)
DEFAULT_HOST = "127.0.0.1"
DEFAULT_MAX_CLIENTS = 16
# A client that sends nothing, or stops reading a stream, for this long is dropped.
CLIENT_TIMEOUT_S = 10.0
COOKIE = "maskdetect_session"
# Wrong tokens allowed per client address in a minute; more get 429.
FAILURES_ALLOWED, FAILURE_WINDOW_S = 10, 60.0
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self'; script-src 'unsafe-inline' 'self'; "
                               "style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}


@dataclass
class Access:
    """Who may open the page: the token (None: anyone on this machine), the Host names answered, the TLS context."""

    token: str | None
    allowed_hosts: set = field(default_factory=set)
    max_clients: int = DEFAULT_MAX_CLIENTS
    tls: ssl.SSLContext | None = None
    # Where a token given by the user lives: the opening address then names the file instead of showing the token,
    # which would otherwise go into logs (journald, docker logs).
    token_file: str | None = None

    @property
    def cookie_value(self):
        return hashlib.sha256(f"maskdetect session {self.token}".encode()).hexdigest()


# A token in a request line, kept out of the access log.
_TOKEN_IN_QUERY = re.compile(r"([?&])token=[^&\s\"]*")




def is_loopback(host):
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def access_for(host, token_file=None, no_auth=False, cert=None, key=None, allowed_hosts=(), max_clients=DEFAULT_MAX_CLIENTS):
    """The Access the --serve options describe; refuses what would open the page to others by mistake."""
    if no_auth and not is_loopback(host):
        raise InputError(f"--serve-no-auth is only for a page on this machine (127.0.0.1, localhost), not {host}")
    if bool(cert) != bool(key):
        raise InputError("TLS needs both --serve-cert and --serve-key")
    if max_clients < 1:
        raise InputError(f"--serve-max-clients must be at least 1, got {max_clients}")
    token = None if no_auth else (read_token_file(token_file) if token_file else secrets.token_urlsafe(24))
    tls = None
    if cert:
        tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        tls.minimum_version = ssl.TLSVersion.TLSv1_2
        try:
            tls.load_cert_chain(cert, key)
        except (OSError, ssl.SSLError) as error:
            raise InputError(f"cannot use the certificate {cert} and key {key}: {error}") from None
    names = {host, "localhost", "127.0.0.1", "::1", *allowed_hosts}
    if host in ("0.0.0.0", "::", ""):
        names |= _own_names()
    return Access(token, {name.lower() for name in names}, max_clients, tls, str(token_file) if token_file and token else None)


def read_token_file(path):
    """The page's token, from a file only its owner can read (at least 16 characters)."""
    return read_secret_file(path, "token", minimum=16)


def read_secret_file(path, what, minimum=16):
    """A secret (a token, a password) from a file that only its owner can read."""
    try:
        mode = os.stat(path).st_mode
        secret = Path(path).read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as error:
        raise InputError(f"cannot read the {what} file {path}: {getattr(error, 'strerror', None) or error}") from None
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise InputError(f"the {what} file {path} can be read by others (mode {stat.S_IMODE(mode):o}): chmod 600 it")
    if len(secret) < minimum:
        raise InputError(f"the {what} in {path} is too short: at least {minimum} characters")
    return secret


def _own_names():
    names = {socket.gethostname(), socket.getfqdn()}
    with contextlib.suppress(OSError):
        names |= set(socket.gethostbyname_ex(socket.gethostname())[2])
    return names


class GuardedServer(ThreadingHTTPServer):
    """A threading HTTP(S) server for a GuardedHandler; a client that goes away or sends garbage is routine."""

    daemon_threads = True

    def __init__(self, address, handler, access, what):
        self.access = access
        self.streams = threading.BoundedSemaphore(access.max_clients)
        self.failures, self.failures_lock = {}, threading.Lock()
        try:
            super().__init__(address, handler)
        except OSError as error:
            raise InputError(f"cannot serve the {what} on {address[0]}:{address[1]}: {error.strerror or error}") from None
        if access.tls is not None:
            self.socket = access.tls.wrap_socket(self.socket, server_side=True, do_handshake_on_connect=False)
        scheme = "https" if access.tls else "http"
        self.url = f"{scheme}://{address[0]}:{self.server_address[1]}/"
        threading.Thread(target=self.serve_forever, daemon=True).start()
        if access.token_file:
            opening = f"{self.url}?token=... (the token in {access.token_file})"
        else:
            opening = self.url + (f"?token={access.token}" if access.token else "")
        # Said even with -q: without it nobody can open the page.
        print(f"{what}: {opening}", file=sys.stderr, flush=True)
        if access.token is None:
            logger.warning("the %s needs no token (--serve-no-auth): anyone with an account on this machine can open it", what)
        if not is_loopback(address[0]):
            logger.warning("the %s is open to the network at %s: anyone with its address and token can watch%s", what,
                           self.url, "" if access.tls else "; without --serve-cert the pictures and the token cross "
                           "the network unencrypted")

    def handle_error(self, request, client_address):
        logger.debug("page client %s: %s", client_address, sys.exc_info()[1])

    def failed(self, client):
        """Note a wrong token from ``client``; True once it has failed too often of late."""
        now = time.monotonic()
        with self.failures_lock:
            recent = [moment for moment in self.failures.get(client, []) if now - moment < FAILURE_WINDOW_S]
            recent.append(now)
            self.failures[client] = recent
            return len(recent) > FAILURES_ALLOWED

    def blocked(self, client):
        now = time.monotonic()
        with self.failures_lock:
            return len([moment for moment in self.failures.get(client, []) if now - moment < FAILURE_WINDOW_S]) > FAILURES_ALLOWED

    def close(self):
        self.shutdown()
        self.server_close()


class GuardedHandler(BaseHTTPRequestHandler):
    """Checks the Host and the token of every request, then hands it to ``route(path)``."""

    server_version = "maskdetect"
    sys_version = ""
    timeout = CLIENT_TIMEOUT_S
    protocol_version = "HTTP/1.0"

    def version_string(self):
        return self.server_version

    def do_GET(self):  # noqa: N802 - the name http.server calls
        parts = urlsplit(self.path)
        if not self._host_allowed():
            self.send(421, "text/plain", b"this page answers only under its own address\n")
            return
        access = self.server.access
        if access.token is not None:
            client = self.client_address[0]
            if self.server.blocked(client):
                self.send(429, "text/plain", b"too many wrong tokens; wait a minute\n")
                return
            given = parse_qs(parts.query).get("token", [None])[0]
            if given is not None:
                if hmac.compare_digest(given.encode(), access.token.encode()):
                    # The token leaves the address: the cookie carries the session from here on.
                    self.send(303, "text/plain", b"", {"Location": parts.path or "/", "Set-Cookie": self._cookie()})
                else:
                    self.server.failed(client)
                    self.send(401, "text/plain", b"wrong token\n")
                return
            if not hmac.compare_digest(self._session_cookie().encode(), access.cookie_value.encode()):
                self.server.failed(client)
                self.send(401, "text/plain", b"open the address with ?token=... that the run printed\n")
                return
        self.route(parts.path)

    def do_POST(self):  # noqa: N802
        self.send(405, "text/plain", b"not allowed\n")

    do_PUT = do_DELETE = do_PATCH = do_POST  # noqa: N815

    def route(self, path):
        self.send(404, "text/plain", b"not found\n")

    def _host_allowed(self):
        host = (self.headers.get("Host") or "").strip().lower()
        if host.startswith("["):
            name = host[1:].split("]")[0]
        else:
            name = host.rsplit(":", 1)[0] if host.count(":") == 1 else host
        return name in self.server.access.allowed_hosts

    def _session_cookie(self):
        for part in (self.headers.get("Cookie") or "").split(";"):
            name, _, value = part.strip().partition("=")
            if name == COOKIE:
                return value
        return ""

    def _cookie(self):
        secure = "; Secure" if self.server.access.tls is not None else ""
        return f"{COOKIE}={self.server.access.cookie_value}; HttpOnly; SameSite=Strict; Path=/{secure}"

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
        if not self.server.streams.acquire(blocking=False):
            self.send(503, "text/plain", b"too many viewers; try again later\n", {"Retry-After": "10"})
            yield None
            return
        try:
            yield True
        finally:
            self.server.streams.release()

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

    def log_message(self, format, *args):  # noqa: A002 - http.server's signature
        logger.debug("page: %s", _TOKEN_IN_QUERY.sub(r"\1token=***", format % args))
