#!/usr/bin/env python3
"""What the live page gives to whoever reaches its port, against a tree of the toolkit (issue 21's table).

    python benchmarks/page_access_cases.py [--root TREE] [--token-file]

Serves a camera over HTTP (MJPEG) at http://user:secret@127.0.0.1:PORT/live.mjpg, runs
detect_mask_video.py of TREE on it with --serve, and sends the requests a stranger would: each
row is the status code and whether the camera's password ("secret") came back.
"""

import argparse
import http.client
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import cv2

HERE = Path(__file__).resolve().parent.parent
TOKEN = "a-benchmark-token-thirty-two-ch"


def serve_camera(frames=3000):
    image = cv2.imread(str(HERE / "maskdetect" / "examples" / "fmd_2c7408b330.jpg"))
    jpeg = cv2.imencode(".jpg", cv2.resize(image, (320, 240)))[1].tobytes()
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(4)

    def stream(client):
        try:
            client.recv(4096)
            client.sendall(b"HTTP/1.0 200 OK\r\nContent-Type: multipart/x-mixed-replace; boundary=f\r\n\r\n")
            for _ in range(frames):
                client.sendall(b"--f\r\nContent-Type: image/jpeg\r\nContent-Length: %d\r\n\r\n" % len(jpeg) + jpeg + b"\r\n")
                time.sleep(0.03)
        except OSError:
            pass

    def accept():
        while True:
            client, _ = server.accept()
            threading.Thread(target=stream, args=(client,), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    return server.getsockname()[1]


def request(port, path, host=None, read=4096):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        connection.request("GET", path, headers={"Host": host or f"127.0.0.1:{port}"})
        response = connection.getresponse()
        body = response.read(read).decode(errors="replace") if read else ""
        return response.status, "secret" in body, response.getheader("Server") or ""
    except OSError as error:
        return type(error).__name__, False, ""
    finally:
        connection.close()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--root", default=str(HERE))
    parser.add_argument("--token-file", action="store_true", help="the tree has --serve-token-file: give it one")
    args = parser.parse_args()
    camera = serve_camera()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    extra = []
    scratch = Path(tempfile.mkdtemp())
    if args.token_file:
        (scratch / "token").write_text(TOKEN)
        (scratch / "token").chmod(0o600)
        extra = ["--serve-token-file", str(scratch / "token")]
    run = subprocess.Popen(
        [
            sys.executable,
            str(Path(args.root) / "detect_mask_video.py"),
            "-s",
            f"http://user:secret@127.0.0.1:{camera}/live.mjpg",
            "--no-display",
            "--serve",
            str(port),
            "--json",
            str(scratch / "events.jsonl"),
            *extra,
        ],
        env={**os.environ, "PYTHONPATH": args.root},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while request(port, "/")[0] in ("ConnectionRefusedError",) and time.monotonic() < deadline:
        time.sleep(0.3)
    time.sleep(2)
    rows = [
        ("GET / (no token)", request(port, "/")),
        ("GET /counts (no token)", request(port, "/counts")),
        ("GET /stream/0 (no token)", request(port, "/stream/0", read=2000)),
        ("GET /counts, Host: attacker.example", request(port, "/counts", host="attacker.example")),
        ("GET /?token=wrong", request(port, "/?token=wrong-wrong-wrong-wrong")),
        ("GET /?token=right", request(port, f"/?token={TOKEN}")),
    ]
    run.terminate()
    _, stderr = run.communicate(timeout=30)
    print("| request | status | password in the answer | Server header |\n|---|---|---|---|")
    for name, (status, leaked, server) in rows:
        print(f"| {name} | {status} | {'YES' if leaked else 'no'} | {server} |")
    events = (scratch / "events.jsonl").read_text() if (scratch / "events.jsonl").exists() else ""
    print(f"| stderr of the run | - | {'YES' if 'secret' in stderr else 'no'} | |")
    print(f"| JSON lines | - | {'YES' if 'secret' in events else 'no'} | |")


if __name__ == "__main__":
    main()
