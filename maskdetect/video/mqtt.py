"""MQTT events for a building's systems (Home Assistant, Node-RED): alerts, per-minute statistics, state, summary.

One paho-mqtt client per camera, so that the broker's last will can mark each camera offline when a
run dies. Publishing never waits for the broker: paho queues up to QUEUED_MOST messages while it
reconnects (with backoff); what does not fit is dropped, counted and said once.
"""

import json
import logging
import os
import re
import ssl
import threading
import time
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

from maskdetect.errors import InputError
from maskdetect.io.redact import redacted
from maskdetect.io.secrets import read_secret_file
from maskdetect.video.sinks import Sink

logger = logging.getLogger(__name__)
PAYLOAD_VERSION = 1
DEFAULT_PREFIX = "maskdetect"
PASSWORD_VARIABLE = "MASKDETECT_MQTT_PASSWORD"
QUEUED_MOST = 1000
CONNECT_SECONDS = 5.0
STATISTICS_EVERY_S = 60.0
_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")
# Home Assistant shows the masked share in percent; a minute with nobody judged renders "None", its "unknown".
MASKED_PERCENT_TEMPLATE = "{{ (value_json.masked_share * 100) | round(1) if value_json.masked_share is not none else none }}"


def import_paho():
    """paho-mqtt's client module, or one clear line when the extra is not installed."""
    try:
        import paho.mqtt.client as client
    except ImportError:
        raise InputError("--mqtt needs paho-mqtt: pip install 'maskdetect[mqtt]' (or -r requirements-mqtt.txt)") from None
    return client


@dataclass
class Broker:
    """Where events go: ``mqtt://[USER@]HOST[:PORT][/PREFIX]`` or ``mqtts://`` (TLS)."""

    host: str
    port: int
    user: str | None
    prefix: str
    tls: bool

    @classmethod
    def parse(cls, address):
        parts = urlsplit(address)
        if parts.scheme not in ("mqtt", "mqtts") or not parts.hostname:
            raise InputError(f"an MQTT address is mqtt://[USER@]HOST[:PORT][/PREFIX] or mqtts://..., got {redacted(address)!r}")
        if parts.password is not None:
            raise InputError(f"the MQTT password never goes on the command line: use --mqtt-password-file or {PASSWORD_VARIABLE}")
        try:
            port = parts.port or (8883 if parts.scheme == "mqtts" else 1883)
        except ValueError:
            raise InputError(f"the MQTT port in {address!r} is not a number from 1 to 65535") from None
        prefix = parts.path.strip("/") or DEFAULT_PREFIX
        if any(character in prefix for character in "+#") or "//" in prefix:
            raise InputError(f"the MQTT prefix {prefix!r} may not hold '+', '#' or empty levels")
        return cls(parts.hostname, port, unquote(parts.username) if parts.username else None, prefix, parts.scheme == "mqtts")


def camera_name(source, given=None):
    """A name for the camera that is safe in a topic: the one given, else from its (redacted) address."""
    name = given or redacted(source).split("://")[-1].split("@")[-1]
    name = _UNSAFE.sub("_", name).strip("_.")[:64]
    return name or "camera"


def broker_password(password_file=None):
    """The broker's password: from a file only its owner can read, else the environment, else none."""
    if password_file:
        return read_secret_file(password_file, "MQTT password", minimum=1)
    return os.environ.get(PASSWORD_VARIABLE) or None


class CameraEvents:
    """The MQTT client of one camera: publishes its alerts, statistics, state and summary under PREFIX/CAMERA."""

    def __init__(self, broker, camera, password=None, ca_file=None, discovery=False):
        mqtt = import_paho()
        self._mqtt = mqtt
        self.broker, self.camera, self.discovery = broker, camera, discovery
        self.topic = f"{broker.prefix}/{camera}"
        self.dropped, self._said_dropped = 0, False
        self._connected, self._refused = threading.Event(), None
        self._client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"maskdetect-{camera}-{os.getpid()}")
        if broker.user:
            self._client.username_pw_set(broker.user, password)
        if broker.tls:
            context = ssl.create_default_context(cafile=ca_file)
            self._client.tls_set_context(context)
        self._client.will_set(f"{self.topic}/state", "offline", qos=1, retain=True)
        self._client.max_queued_messages_set(QUEUED_MOST)
        self._client.reconnect_delay_set(1, 30)
        self._client.on_connect = self._on_connect
        self._client.on_disconnect = self._on_disconnect
        self._client.suppress_exceptions = True

    def _on_connect(self, client, userdata, flags, reason, properties):
        if reason.is_failure:
            self._refused = str(reason)
        else:
            self._connected.set()

    def _on_disconnect(self, client, userdata, flags, reason, properties):
        if self._connected.is_set():
            logger.warning("MQTT: lost the broker %s:%d (%s); reconnecting", self.broker.host, self.broker.port, reason)
        self._connected.clear()

    def start(self):
        """Connect (waiting at most CONNECT_SECONDS); a broker that refuses the credentials is an InputError, one
        that does not answer is reconnected to in the background."""
        try:
            self._client.connect_async(self.broker.host, self.broker.port, keepalive=30)
        except (OSError, ValueError) as error:
            raise InputError(f"MQTT: cannot connect to {self.broker.host}:{self.broker.port}: {error}") from None
        self._client.loop_start()
        deadline = time.monotonic() + CONNECT_SECONDS
        while not self._connected.is_set() and self._refused is None and time.monotonic() < deadline:
            time.sleep(0.05)
        if self._refused is not None:
            self._client.loop_stop()
            raise InputError(f"MQTT: the broker {self.broker.host}:{self.broker.port} refused the connection: {self._refused}")
        if not self._connected.is_set():
            logger.warning(
                "MQTT: the broker %s:%d does not answer yet; events are queued while it is tried again",
                self.broker.host,
                self.broker.port,
            )
        self.state("online")
        if self.discovery:
            self._announce()
        return self

    def publish(self, kind, payload):
        """One JSON event under PREFIX/CAMERA/kind, at QoS 1: kept through a broker's absence while paho's queue has
        room (and sent again after the reconnection, whatever the first send said); counted as dropped when full."""
        message = json.dumps({"version": PAYLOAD_VERSION, "camera": self.camera, **payload}, allow_nan=False)
        info = self._client.publish(f"{self.topic}/{kind}", message, qos=1)
        if info.rc == self._mqtt.MQTT_ERR_QUEUE_SIZE:
            self.dropped += 1
            if not self._said_dropped:
                logger.warning("MQTT: the broker is not taking messages; dropping them (counted in the summary)")
                self._said_dropped = True
        return info

    def state(self, state):
        return self._client.publish(f"{self.topic}/state", state, qos=1, retain=True)

    def _announce(self):
        """Home Assistant's MQTT discovery: the masked share, the people counts, "unmasked person present"."""
        device = {
            "identifiers": [f"maskdetect_{self.camera}"],
            "name": f"Mask detector {self.camera}",
            "manufacturer": "maskdetect",
        }
        common = {
            "availability_topic": f"{self.topic}/state",
            "payload_available": "online",
            "payload_not_available": "offline",
            "device": device,
        }
        sensors = [
            (
                "sensor",
                "masked_share",
                {
                    "name": "Masked share",
                    "state_topic": f"{self.topic}/stats",
                    "value_template": MASKED_PERCENT_TEMPLATE,
                    "unit_of_measurement": "%",
                },
            ),
            (
                "sensor",
                "people",
                {
                    "name": "People seen",
                    "state_topic": f"{self.topic}/stats",
                    "value_template": "{{ value_json.people.values() | sum }}",
                },
            ),
            (
                "binary_sensor",
                "unmasked",
                {
                    "name": "Unmasked person present",
                    "state_topic": f"{self.topic}/unmasked",
                    "payload_on": "ON",
                    "payload_off": "OFF",
                    "off_delay": 30,
                },
            ),
        ]
        for component, key, config in sensors:
            unique = f"maskdetect_{self.camera}_{key}"
            self._client.publish(
                f"homeassistant/{component}/{unique}/config",
                json.dumps({**config, **common, "unique_id": unique}),
                qos=1,
                retain=True,
            )

    def alert(self, payload):
        self.publish("alert", payload)
        self._client.publish(f"{self.topic}/unmasked", "ON", qos=1)

    def close(self, summary):
        """The summary and the offline state, delivered if the broker is there (waiting at most CONNECT_SECONDS)."""
        sent = [self.publish("summary", {**summary, "mqtt_messages_dropped": self.dropped}), self.state("offline")]
        deadline = time.monotonic() + CONNECT_SECONDS
        for info in sent:
            while not info.is_published() and time.monotonic() < deadline and self._connected.is_set():
                time.sleep(0.02)
        self._client.disconnect()
        self._client.loop_stop()


class MqttSink(Sink):
    """A video consumer that sends one camera's events: alerts as they happen, statistics every minute of
    video, and at the end the last (partial) minute and the summary."""

    def __init__(self, events, statistics, summary):
        self.events, self._statistics, self._summary = events, statistics, summary
        self._minute = 0

    def write(self, result):
        for person in result.alerts:
            snapshot = result.snapshots.get(person.track_id)
            face = next((face for face in result.faces if face.track_id == person.track_id), None)
            self.events.alert(
                {
                    "frame": result.index,
                    "time": round(result.time, 3),
                    "track_id": person.track_id,
                    "label": person.label,
                    "unmasked_frames": person.alerting_frames,
                    "probability": None if face is None or face.probability is None else round(face.probability, 4),
                    "snapshot": None if snapshot is None else str(snapshot),
                }
            )
        while result.time >= (self._minute + 1) * STATISTICS_EVERY_S:
            self._send_minute(self._minute)
            self._minute += 1

    def _send_minute(self, minute, partial=False):
        statistics = self._statistics()
        rows = {row["minute"]: row for row in statistics.get("per_minute", [])}
        row = rows.get(minute, {})
        self.events.publish(
            "stats",
            {
                "minute": minute,
                "partial": partial,
                "people": {name: row.get(name, 0) for name in statistics.get("people", {})},
                "masked_share": row.get("masked_share"),
            },
        )

    def close(self):
        self._send_minute(self._minute, partial=True)
        self.events.close(self._summary())

    def discard(self):
        self.close()
