"""MQTT events on a real Mosquitto broker (password file, no anonymous access) and a real subscriber."""

import json
import os
import shutil
import socket
import subprocess
import threading
import time
from pathlib import Path

import jinja2
import pytest
from conftest import assert_one_line_error, free_port, run_script
from crossing import make_crossing_video

paho = pytest.importorskip("paho.mqtt.client", reason="paho-mqtt is not installed: pip install 'maskdetect[mqtt]'")
MOSQUITTO = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
pytestmark = pytest.mark.skipif(not Path(MOSQUITTO).exists(), reason="Mosquitto is not installed (apt install mosquitto)")
PASSWORD = "door-password-9f3a"


@pytest.fixture
def broker(tmp_path):
    """Mosquitto on a free loopback port, user 'door' with PASSWORD, anonymous access off."""
    port = free_port()
    passwords = tmp_path / "passwords"
    subprocess.run(["mosquitto_passwd", "-b", "-c", passwords, "door", PASSWORD], check=True, capture_output=True)
    passwords.chmod(0o644)
    config = tmp_path / "mosquitto.conf"
    # Run as whoever runs the tests: mosquitto started as root would otherwise switch to its own user, who cannot
    # read the test folder.
    user = "root" if os.geteuid() == 0 else ""
    config.write_text(
        f"listener {port} 127.0.0.1\nallow_anonymous false\npassword_file {passwords}\npersistence false\n"
        + (f"user {user}\n" if user else "")
    )

    def start():
        process = subprocess.Popen([MOSQUITTO, "-c", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                return process
            except OSError:
                time.sleep(0.1)
        raise AssertionError("mosquitto did not start")

    state = {"process": start(), "port": port, "start": start}
    yield state
    state["process"].kill()
    state["process"].wait()


class Subscriber:
    """A real client that records every message under a topic filter."""

    def __init__(self, port, topics="#"):
        self.messages, self._connected = [], threading.Event()
        self.client = paho.Client(paho.CallbackAPIVersion.VERSION2)
        self.client.username_pw_set("door", PASSWORD)
        self.client.on_connect = lambda client, *args: (client.subscribe(topics, qos=1), self._connected.set())
        self.client.on_message = lambda client, userdata, message: self.messages.append(
            (message.topic, message.payload.decode(), message.retain)
        )
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        assert self._connected.wait(10)

    def of(self, suffix):
        return [json.loads(payload) for topic, payload, _ in self.messages if topic.endswith(suffix)]

    def close(self):
        self.client.disconnect()
        self.client.loop_stop()


def _password_file(folder):
    path = Path(folder) / "mqtt.password"
    path.write_text(PASSWORD)
    path.chmod(0o600)
    return path


def test_alerts_statistics_state_summary_and_discovery_reach_a_subscriber(broker, tmp_path):
    door = tmp_path / "door.avi"
    make_crossing_video(door)
    listener = Subscriber(broker["port"])
    result = run_script(
        "detect_mask_video.py",
        "-s",
        door,
        "--no-display",
        "--alert-frames",
        "5",
        "--mqtt",
        f"mqtt://door@127.0.0.1:{broker['port']}/building",
        "--mqtt-password-file",
        _password_file(tmp_path),
        "--camera-name",
        "door1",
        "--mqtt-discovery",
        "--json",
        tmp_path / "events.jsonl",
    )
    time.sleep(1)
    assert result.returncode == 0, result.stderr
    events = [json.loads(line) for line in (tmp_path / "events.jsonl").read_text().splitlines()]
    alerts = listener.of("building/door1/alert")
    # One alert message per unmasked person, as in the JSON lines: the clip has three.
    assert len(alerts) == len([event for event in events if event["type"] == "alert"]) == 3
    assert {alert["label"] for alert in alerts} == {"without_mask"} and all(alert["version"] == 1 for alert in alerts)
    assert len({alert["track_id"] for alert in alerts}) == 3
    (stats,) = listener.of("building/door1/stats")
    assert stats["partial"] and stats["people"]["without_mask"] == 3 and stats["people"]["with_mask"] == 2
    (summary,) = listener.of("building/door1/summary")
    assert summary["frames"] == events[-1]["frames"] and summary["mqtt_messages_dropped"] == 0
    states = [payload for topic, payload, _ in listener.messages if topic == "building/door1/state"]
    assert states[0] == "online" and states[-1] == "offline"
    configs = {topic: json.loads(payload) for topic, payload, _ in listener.messages if topic.startswith("homeassistant/")}
    assert len(configs) == 3
    for config in configs.values():
        assert config["unique_id"].startswith("maskdetect_door1_") and config["state_topic"].startswith("building/door1/")
        assert config["availability_topic"] == "building/door1/state"
    # The masked share as Home Assistant renders it (Jinja, as HA does): percent, and "None" (unknown) for nobody.
    share = next(config for topic, config in configs.items() if topic.endswith("masked_share/config"))
    template = jinja2.Environment().from_string(share["value_template"])
    assert template.render(value_json=stats) == "40.0" and share["unit_of_measurement"] == "%"
    assert template.render(value_json={**stats, "masked_share": None}) == "None"
    listener.close()
    # The state stays retained for whoever subscribes later.
    later = Subscriber(broker["port"], "building/door1/state")
    time.sleep(0.5)
    assert later.messages == [("building/door1/state", "offline", True)]
    later.close()
    everything = result.stderr + result.stdout + "".join(payload for _, payload, _ in listener.messages)
    assert PASSWORD not in everything


def test_a_wrong_password_is_one_line_before_any_slow_step(broker, tmp_path):
    wrong = tmp_path / "wrong.password"
    wrong.write_text("not-the-password")
    wrong.chmod(0o600)
    door = tmp_path / "door.avi"
    make_crossing_video(door)
    started = time.monotonic()
    result = run_script(
        "detect_mask_video.py",
        "-s",
        door,
        "--no-display",
        "--mqtt",
        f"mqtt://door@127.0.0.1:{broker['port']}",
        "--mqtt-password-file",
        wrong,
    )
    assert time.monotonic() - started < 10
    assert_one_line_error(result, "MQTT", "refused")
    assert result.returncode == 2 and "not-the-password" not in result.stderr
    loose = tmp_path / "loose.password"
    loose.write_text(PASSWORD)
    loose.chmod(0o644)
    assert_one_line_error(
        run_script(
            "detect_mask_video.py",
            "-s",
            door,
            "--no-display",
            "--mqtt",
            f"mqtt://door@127.0.0.1:{broker['port']}",
            "--mqtt-password-file",
            loose,
        ),
        "chmod 600",
    )
    assert_one_line_error(
        run_script(
            "detect_mask_video.py", "-s", door, "--no-display", "--mqtt", f"mqtt://door:{PASSWORD}@127.0.0.1:{broker['port']}"
        ),
        "never goes on the command line",
    )


@pytest.mark.slow
def test_a_broker_that_goes_away_never_stalls_the_video(broker, tmp_path):
    door = tmp_path / "door.avi"
    make_crossing_video(door, repeats=5)
    quiet = run_script("detect_mask_video.py", "-s", door, "--no-display", "--json", tmp_path / "quiet.jsonl")
    quiet_fps = json.loads((tmp_path / "quiet.jsonl").read_text().splitlines()[-1])["median_fps"]
    listener = Subscriber(broker["port"])
    runs = []
    worker = threading.Thread(
        target=lambda: runs.append(
            run_script(
                "detect_mask_video.py",
                "-s",
                door,
                "--no-display",
                "--alert-frames",
                "5",
                "--json",
                tmp_path / "loud.jsonl",
                "--mqtt",
                f"mqtt://door@127.0.0.1:{broker['port']}",
                "--mqtt-password-file",
                _password_file(tmp_path),
            )
        )
    )
    worker.start()
    time.sleep(1.5)
    broker["process"].kill()
    broker["process"].wait()
    time.sleep(1.5)
    broker["process"] = broker["start"]()
    restarted = Subscriber(broker["port"])
    worker.join(timeout=300)
    (result,) = runs
    assert quiet.returncode == result.returncode == 0, result.stderr
    loud_fps = json.loads((tmp_path / "loud.jsonl").read_text().splitlines()[-1])["median_fps"]
    records = [json.loads(line) for line in (tmp_path / "loud.jsonl").read_text().splitlines()]
    received = {(alert["track_id"], alert["frame"]) for alert in listener.of("/alert") + restarted.of("/alert")}
    print(
        f"median FPS without MQTT {quiet_fps}, with a broker killed and restarted {loud_fps} "
        f"({loud_fps / quiet_fps:.2f}x); alerts in the run {sum(r['type'] == 'alert' for r in records)}, received by "
        f"the two subscribers {len(received)} (the first, reconnecting by itself, {len(listener.of('/alert'))}; "
        f"one started after the restart {len(restarted.of('/alert'))})"
    )
    assert loud_fps >= 0.8 * quiet_fps
    assert "lost the broker" in result.stderr and "Traceback" not in result.stderr
    assert restarted.of("/summary"), "messages did not resume after the broker came back"
    # The alerts of the 1.5 s without a broker waited in paho's queue: none dropped.
    assert restarted.of("/summary")[0]["mqtt_messages_dropped"] == 0
    listener.close()
    restarted.close()


@pytest.mark.slow
def test_cameras_on_ray_publish_their_events_too(broker, tmp_path):
    pytest.importorskip("ray", reason="Ray is not installed: pip install 'maskdetect[ray]'")
    from conftest import run_process

    door = tmp_path / "door.avi"
    make_crossing_video(door)
    listener = Subscriber(broker["port"])
    result = run_process(
        "detect_mask_video.py",
        "--ray",
        "-s",
        door,
        "--alert-frames",
        "5",
        "--stats-every",
        "1",
        "--camera-name",
        "door2",
        "--mqtt",
        f"mqtt://door@127.0.0.1:{broker['port']}/building",
        "--mqtt-password-file",
        _password_file(tmp_path),
        "-q",
    )
    time.sleep(1)
    assert result.returncode == 0, result.stderr
    assert len(listener.of("building/door2/alert")) == 3
    assert listener.of("building/door2/stats") and listener.of("building/door2/summary")
    states = [payload for topic, payload, _ in listener.messages if topic == "building/door2/state"]
    assert states[0] == "online" and states[-1] == "offline"
    assert PASSWORD not in result.stderr
    listener.close()
