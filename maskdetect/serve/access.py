"""Who may open a page: a token on every route (exchanged for a cookie), TLS, a check of the Host header
against DNS rebinding, a cap on open streams, timeouts and security headers (docs/entrance.md).

``access_for`` turns the --serve-* options into an Access; a Gate checks every request against it before the
page server (serve/pages.py) answers.
"""

import contextlib
import hashlib
import hmac
import ipaddress
import logging
import re
import secrets
import socket
import ssl
import sys
import threading
import time
from dataclasses import dataclass, field
from urllib.parse import parse_qs

from maskdetect.errors import InputError
from maskdetect.io.secrets import read_secret_file

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
# A token in a request line, kept out of the access log.
_TOKEN_IN_QUERY = re.compile(r"([?&])token=[^&\s\"]*")


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


def _own_names():
    names = {socket.gethostname(), socket.getfqdn()}
    with contextlib.suppress(OSError):
        names |= set(socket.gethostbyname_ex(socket.gethostname())[2])
    return names


def announce(access, url, what, host):
    """Say where to open the page ``what`` (served at ``url`` on ``host``), and warn when others could open it."""
    if access.token_file:
        opening = f"{url}?token=... (the token in {access.token_file})"
    else:
        opening = url + (f"?token={access.token}" if access.token else "")
    # Said even with -q: without it nobody can open the page.
    print(f"{what}: {opening}", file=sys.stderr, flush=True)
    if access.token is None:
        logger.warning("the %s needs no token (--serve-no-auth): anyone with an account on this machine can open it", what)
    if not is_loopback(host):
        logger.warning(
            "the %s is open to the network at %s: anyone with its address and token can watch%s",
            what,
            url,
            "" if access.tls else "; without --serve-cert the pictures and the token cross the network unencrypted",
        )


def without_token(text):
    """A request line (or log line) with any token in its query hidden: token=***."""
    return _TOKEN_IN_QUERY.sub(r"\1token=***", text)


class Gate:
    """The checks every request passes before its route answers (Host, then token or session cookie, with a limit
    on wrong tokens per client), and the places for streams open at once (Access.max_clients)."""

    def __init__(self, access):
        self.access = access
        self.streams = threading.BoundedSemaphore(access.max_clients)
        self._failures, self._failures_lock = {}, threading.Lock()

    def refusal(self, client, host, path, query, cookies):
        """None when a request may go on to its route, else the answer instead: (status, plain text body, headers).

        ``client`` is the client's address; ``host`` and ``cookies`` the Host and Cookie headers (None when absent);
        ``path`` and ``query`` the request's path and query string.
        """
        if not self._host_allowed(host):
            return 421, b"this page answers only under its own address\n", None
        access = self.access
        if access.token is None:
            return None
        if self._blocked(client):
            return 429, b"too many wrong tokens; wait a minute\n", None
        given = parse_qs(query).get("token", [None])[0]
        if given is not None:
            if hmac.compare_digest(given.encode(), access.token.encode()):
                # The token leaves the address: the cookie carries the session from here on.
                return 303, b"", {"Location": path or "/", "Set-Cookie": self._cookie()}
            self._failed(client)
            return 401, b"wrong token\n", None
        if not hmac.compare_digest(_session_cookie(cookies).encode(), access.cookie_value.encode()):
            self._failed(client)
            return 401, b"open the address with ?token=... that the run printed\n", None
        return None

    def _host_allowed(self, host):
        host = (host or "").strip().lower()
        if host.startswith("["):
            name = host[1:].split("]")[0]
        else:
            name = host.rsplit(":", 1)[0] if host.count(":") == 1 else host
        return name in self.access.allowed_hosts

    def _cookie(self):
        secure = "; Secure" if self.access.tls is not None else ""
        return f"{COOKIE}={self.access.cookie_value}; HttpOnly; SameSite=Strict; Path=/{secure}"

    def _failed(self, client):
        """Note a wrong token from ``client``."""
        now = time.monotonic()
        with self._failures_lock:
            recent = [moment for moment in self._failures.get(client, []) if now - moment < FAILURE_WINDOW_S]
            recent.append(now)
            self._failures[client] = recent

    def _blocked(self, client):
        """True once ``client`` has given too many wrong tokens of late."""
        now = time.monotonic()
        with self._failures_lock:
            return (
                len([moment for moment in self._failures.get(client, []) if now - moment < FAILURE_WINDOW_S]) > FAILURES_ALLOWED
            )


def _session_cookie(cookies):
    for part in (cookies or "").split(";"):
        name, _, value = part.strip().partition("=")
        if name == COOKIE:
            return value
    return ""
