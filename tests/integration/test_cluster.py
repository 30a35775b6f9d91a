"""The toolkit on a real local Ray cluster: two nodes of one CPU each, started here (never `ray stop`)."""

import dataclasses
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import pytest

ray = pytest.importorskip("ray", reason="Ray is not installed: pip install 'maskdetect[ray]'")
from conftest import ROOT, free_port, run_script  # noqa: E402
from ray.cluster_utils import Cluster  # noqa: E402

from maskdetect.cluster.archive import ResultsStore, read_results, run_archive  # noqa: E402
from maskdetect.cluster.connect import connect  # noqa: E402
from maskdetect.errors import InputError  # noqa: E402
from maskdetect.settings import DetectorSettings  # noqa: E402
from maskdetect.shipped_files import EXAMPLES  # noqa: E402

SCENES = ROOT / "data" / "scenes" / "images"
SETTINGS = DetectorSettings(
    model=str(ROOT / "maskdetect" / "models" / "mask_detector.model"),
    backend="onnx",
    face_detector="yunet",
    confidence=0.5,
    detect_size=640,
    min_face_size=0,
    upscale=1.0,
    upright=True,
    face_detector_dir=str(ROOT / "face_detector"),
)


@pytest.fixture(scope="module")
def object_storage():
    """A real S3-compatible server (moto's) on a free port; every Ray process started after it uses it."""
    port = free_port()
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "moto_server"), "-p", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    settings = {
        "AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}",
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    saved = {name: os.environ.get(name) for name in settings}
    os.environ.update(settings)
    _wait_for(lambda: _answers(port), seconds=30)
    yield settings["AWS_ENDPOINT_URL"]
    server.kill()
    server.wait()
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


def _answers(port):
    import socket

    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False


@pytest.fixture(scope="module")
def cluster(object_storage):
    """A head node and a worker node, one CPU each; the driver connects through the toolkit's own connect()."""
    nodes = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "object_store_memory": 150 * 2**20})
    nodes.add_node(num_cpus=1, object_store_memory=150 * 2**20)
    nodes.wait_for_nodes()
    connect(nodes.address)
    yield nodes
    ray.shutdown()
    nodes.shutdown()


@pytest.fixture(scope="module")
def archive(tmp_path_factory):
    """120 street photos in two folders, an example photo, and a file that is not a photo."""
    folder = tmp_path_factory.mktemp("archive")
    photos = sorted(SCENES.glob("*.jpg"))[:120]
    for number, photo in enumerate(photos):
        target = folder / ("north" if number % 2 else "south") / photo.name
        target.parent.mkdir(exist_ok=True)
        shutil.copy(photo, target)
    shutil.copy(EXAMPLES / "fmd_40d0b13bd8.jpg", folder / "example.jpg")
    (folder / "broken.jpg").write_bytes(b"not a photo at all")
    (folder / ".hidden.jpg").write_bytes(b"never listed")
    return folder


def _by_image(records):
    counts = Counter(record["image"] for record in records)
    assert max(counts.values()) == 1, [image for image, count in counts.items() if count > 1]
    return {record["image"]: record for record in records}


def _one_machine_records(archive):
    """The same photos checked by the folder code path of one machine."""
    from maskdetect import api
    from maskdetect.photos import detect_photos

    detector = api.load_detector(SETTINGS, classifier_threads=1, face_detector_threads=1)
    paths = sorted(path for path in archive.rglob("*.jpg") if not path.name.startswith(".") and path.name != "broken.jpg")
    results, failures = detect_photos(detector, paths, None)
    assert not failures
    return {result.image: result.as_record() for result in results}


def _photo_count(archive):
    return sum(1 for path in archive.rglob("*.jpg") if not path.name.startswith("."))


def _wait_for(condition, seconds=60):
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def _archive_worker_pids():
    """The processes of Ray Data's detector actors, found by the title Ray gives them."""
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                title = (entry / "cmdline").read_bytes().decode(errors="replace")
            except OSError:
                continue
            if "ArchiveWorker" in title and "ray::" in title:
                pids.append(int(entry.name))
    return pids


def test_an_archive_on_two_nodes_gives_the_records_of_one_machine(cluster, archive, tmp_path):
    results = tmp_path / "results"
    store = ResultsStore(results)
    store.check()
    summary = run_archive(ray, str(archive), store, SETTINGS, part_size=10, workers=2, progress=False)

    records = _by_image(read_results(results))
    assert len(records) == _photo_count(archive) == summary.recorded == 122
    # Both nodes did part of the work.
    assert len(summary.nodes) == 2 and min(summary.nodes.values()) > 0, summary.nodes
    # An unreadable photo is one record with an error, and the run went on.
    broken = records.pop(str(archive / "broken.jpg"))
    assert "cannot decode" in broken["error"] and "faces" not in broken and len(broken["sha256"]) == 64
    assert summary.unreadable == 1
    local = _one_machine_records(archive)
    assert set(records) == set(local)
    for image, record in records.items():
        expected = local[image]
        assert (record["width"], record["height"]) == (expected["width"], expected["height"])
        assert [face["box"] for face in record["faces"]] == [face["box"] for face in expected["faces"]], image
        assert [face["label"] for face in record["faces"]] == [face["label"] for face in expected["faces"]], image
        for face, other in zip(record["faces"], expected["faces"]):
            assert face["probability"] == pytest.approx(other["probability"], abs=1e-5)
    assert records[str(archive / "example.jpg")]["sha256"] == hashlib.sha256((archive / "example.jpg").read_bytes()).hexdigest()


def test_a_worker_killed_mid_run_costs_time_not_records(cluster, archive, tmp_path):
    results = tmp_path / "results"
    finished, killed = threading.Event(), []

    def kill_one_worker_after_the_first_part():
        _wait_for(lambda: any(results.glob("part-*.jsonl")) and _archive_worker_pids())
        os.kill(_archive_worker_pids()[0], signal.SIGKILL)
        killed.append(not finished.is_set())

    killer = threading.Thread(target=kill_one_worker_after_the_first_part, daemon=True)
    killer.start()
    summary = run_archive(ray, str(archive), ResultsStore(results), SETTINGS, part_size=4, workers=2, progress=False)
    finished.set()
    killer.join(timeout=5)
    assert killed == [True], "no worker was killed mid-run"
    assert len(_by_image(read_results(results))) == _photo_count(archive) == summary.recorded


def test_a_node_lost_mid_run_costs_time_not_records(cluster, archive, tmp_path):
    results = tmp_path / "results"
    extra = cluster.add_node(num_cpus=1, object_store_memory=100 * 2**20)
    cluster.wait_for_nodes()
    runs = []
    worker = threading.Thread(
        target=lambda: runs.append(
            run_archive(ray, str(archive), ResultsStore(results), SETTINGS, part_size=4, workers=3, progress=False)
        )
    )
    worker.start()
    _wait_for(lambda: any(results.glob("part-*.jsonl")))
    cluster.remove_node(extra)  # from the main thread, as Ray requires
    worker.join(timeout=150)
    (summary,) = runs
    assert len(_by_image(read_results(results))) == _photo_count(archive) == summary.recorded


def test_a_killed_run_started_again_records_only_what_is_missing(cluster, archive, tmp_path):
    results = tmp_path / "results"
    command = [
        sys.executable,
        str(ROOT / "detect_mask_image.py"),
        "-i",
        str(archive),
        "--ray",
        cluster.address,
        "--results",
        str(results),
        "--part-size",
        "3",
        "--workers",
        "2",
        "-q",
        "--min-face-size",
        "0",
    ]
    first = subprocess.Popen(command, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        _wait_for(lambda: len(list(results.glob("part-*.jsonl"))) >= 2 or first.poll() is not None, seconds=120)
    finally:
        first.kill()
        first.wait()
    before = read_results(results)
    assert 0 < len(before) < _photo_count(archive), "the first run was not killed mid-run"

    again = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    broken_before = any("error" in record for record in before)
    assert again.returncode == (0 if broken_before else 1), again.stderr  # 1: this run met the unreadable photo
    records = _by_image(read_results(results))
    assert len(records) == _photo_count(archive)
    assert f"{len(_by_image(before))} already recorded" in again.stdout, again.stdout

    parts = sorted(results.glob("part-*"))
    finished = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert f"{len(records)} already recorded, 0 recorded now" in finished.stdout
    assert sorted(results.glob("part-*")) == parts


def test_parquet_results_and_annotated_copies_in_the_results(cluster, tmp_path):
    results = tmp_path / "results"
    listing = tmp_path / "photos.txt"
    listing.write_text("".join(f"{path}\n" for path in sorted(EXAMPLES.glob("*.jpg"))))
    finished = run_script(
        "detect_mask_image.py",
        "-i",
        listing,
        "--ray",
        cluster.address,
        "--results",
        results,
        "--format",
        "parquet",
        "-o",
        results / "annotated",
        "-q",
    )
    assert finished.returncode == 0, finished.stderr
    records = _by_image(read_results(results))
    assert set(records) == {str(path) for path in EXAMPLES.glob("*.jpg")}
    assert all(record.get("error") is None and record["faces"] for record in records.values())
    # Photos from outside the listing's folder keep their whole path: two of the same name never meet.
    assert all((results / "annotated" / str(path).lstrip("/")).is_file() for path in EXAMPLES.glob("*.jpg"))
    # JSON-lines parts may not join Parquet ones.
    mixed = run_script("detect_mask_image.py", "-i", listing, "--ray", cluster.address, "--results", results)
    assert mixed.returncode == 2 and "--format parquet" in mixed.stderr


def test_an_archive_in_object_storage_with_results_and_copies_there(cluster, object_storage, tmp_path):
    from pyarrow import fs

    s3 = fs.S3FileSystem(endpoint_override=object_storage, allow_bucket_creation=True)
    s3.create_dir("doors")
    photos = sorted(EXAMPLES.glob("*.jpg"))
    for path in photos:
        with s3.open_output_stream(f"doors/archive/2026/{path.name}") as stream:
            stream.write(path.read_bytes())
    with s3.open_output_stream("doors/archive/2026/broken.jpg") as stream:
        stream.write(b"not a photo")
    command = (
        "detect_mask_image.py",
        "-i",
        "s3://doors/archive",
        "--ray",
        cluster.address,
        "--results",
        "s3://doors/results",
        "-o",
        "s3://doors/annotated",
        "-q",
    )
    finished = run_script(*command)
    assert finished.returncode == 1, finished.stderr  # the broken photo
    records = _by_image(read_results("s3://doors/results"))
    assert set(records) == {f"s3://doors/archive/2026/{path.name}" for path in photos} | {"s3://doors/archive/2026/broken.jpg"}
    assert "error" in records.pop("s3://doors/archive/2026/broken.jpg")
    one_machine = run_script("detect_mask_image.py", "-i", EXAMPLES, "-o", tmp_path / "out", "--json", tmp_path / "faces.json")
    assert one_machine.returncode == 0, one_machine.stderr
    for expected in json.loads((tmp_path / "faces.json").read_text()):
        got = records[f"s3://doors/archive/2026/{Path(expected['image']).name}"]
        assert [face["box"] for face in got["faces"]] == [face["box"] for face in expected["faces"]]
        assert [face["label"] for face in got["faces"]] == [face["label"] for face in expected["faces"]]
    copies = s3.get_file_info(fs.FileSelector("doors/annotated", recursive=True))
    assert sorted(info.base_name for info in copies if info.type == fs.FileType.File) == sorted(path.name for path in photos)
    again = run_script(*command[:-1])
    assert f"{len(photos) + 1} already recorded, 0 recorded now" in again.stdout


def test_results_never_go_into_a_folder_of_other_things(tmp_path):
    results = tmp_path / "mine"
    results.mkdir()
    (results / "thesis.txt").write_text("my thesis")
    refused = run_script("detect_mask_image.py", "-i", EXAMPLES, "--ray", "--results", results)
    assert refused.returncode == 2 and "holds other things" in refused.stderr
    assert (results / "thesis.txt").read_text() == "my thesis" and len(list(results.iterdir())) == 1
    no_results = run_script("detect_mask_image.py", "-i", EXAMPLES, "--ray")
    assert no_results.returncode == 2 and "--results" in no_results.stderr


def test_joining_a_cluster_that_is_not_there_is_one_line(tmp_path):
    command = [
        sys.executable,
        str(ROOT / "detect_mask_image.py"),
        "-i",
        str(EXAMPLES),
        "--ray",
        "127.0.0.1:9",
        "--results",
        str(tmp_path / "results"),
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120)
    assert result.returncode == 2, result.stderr
    assert "cannot reach a Ray cluster at 127.0.0.1:9" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "results").exists() or not list((tmp_path / "results").iterdir())


def _watcher_pids():
    return [pid for pid, title in _ray_processes() if "CameraWatcher" in title]


def _ray_processes():
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                yield int(entry.name), (entry / "cmdline").read_bytes().decode(errors="replace")
            except OSError:
                continue


@pytest.fixture(scope="module")
def doors(tmp_path_factory):
    """Two entrance videos of people crossing (masked and unmasked), long enough to kill a watcher mid-run."""
    from crossing import make_crossing_video

    folder = tmp_path_factory.mktemp("doors")
    videos = [folder / "door1.avi", folder / "door2.avi"]
    frames = [len(make_crossing_video(video, repeats=repeats)) for video, repeats in zip(videos, (6, 4))]
    return videos, frames


@pytest.mark.slow
def test_two_cameras_on_watchers_one_killed_and_restarted_on_the_dashboard(cluster, doors, tmp_path):
    from helpers.pages import CHROMIUM, CHROMIUM_FLAGS
    from playwright.sync_api import sync_playwright

    from maskdetect.cluster.cameras import run_cameras
    from maskdetect.serve.dashboard import Dashboard
    from maskdetect.serve.pages import PageServer as DashboardServer
    from maskdetect.settings import CameraSettings, VideoSettings

    videos, frames = doors
    dashboard = Dashboard([str(video) for video in videos])
    server = DashboardServer(dashboard, "127.0.0.1", 0)
    settings = VideoSettings(
        detector=dataclasses.replace(SETTINGS, upright=False),
        alert_frames=5,
        json_path=str(tmp_path / "events.jsonl"),
        snapshots=str(tmp_path / "alerts"),
        cameras=CameraSettings(streams_per_watcher=1, stats_every=1.0),
    )
    runs, killed, stop = [], [], threading.Event()
    worker = threading.Thread(
        target=lambda: runs.append(run_cameras(ray, [str(video) for video in videos], settings, dashboard=dashboard, stop=stop))
    )
    worker.start()
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
            page = browser.new_page(bypass_csp=True, viewport={"width": 1300, "height": 900})
            page.goto(f"{server.url}?token={server.token}")
            # Both cameras online, pictures arriving; then the first watcher's process is killed.
            for camera in (0, 1):
                page.wait_for_function(f"document.getElementById('picture-{camera}').naturalWidth > 0", timeout=60_000)
            _wait_for(lambda: len(_watcher_pids()) == 2 and dashboard.state()["cameras"][0]["frames"] > 20)
            pid = min(_watcher_pids())
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)
            page.wait_for_function(
                "document.getElementById('state-0').textContent.includes('restarted 1x') || "
                "document.getElementById('state-1').textContent.includes('restarted 1x')",
                timeout=90_000,
            )
            page.wait_for_function("document.querySelectorAll('#alerts li.alert').length > 0", timeout=90_000)
            page.wait_for_function("document.querySelectorAll('#chart polyline.series').length === 2", timeout=90_000)
            page.wait_for_timeout(1500)
            screenshot = ROOT / "test-artifacts" / "dashboard.png"
            screenshot.parent.mkdir(exist_ok=True)
            page.screenshot(path=str(screenshot), full_page=True)
            browser.close()
        worker.join(timeout=180)
    finally:
        stop.set()
        worker.join(timeout=60)
        server.close()
    ((summaries, cameras),) = runs
    assert screenshot.stat().st_size > 20_000
    assert sum(camera.restarts for camera in cameras) == 1
    events = [json.loads(line) for line in (tmp_path / "events.jsonl").read_text().splitlines()]
    # Each camera went on to the end of its video, the restarted one from the frame it had reached.
    for camera, total in zip(cameras, frames):
        seen = {event["frame"] for event in events if event["type"] == "frame" and event["camera"] == camera.camera}
        assert len(seen) >= total - 30 and max(seen) == total - 1, (camera.camera, len(seen), total)
        alerts = [event for event in events if event["type"] == "alert" and event["camera"] == camera.camera]
        assert alerts and all(Path(alert["snapshot"]).is_file() for alert in alerts)
        shares = [event for event in events if event["type"] == "statistics" and event["camera"] == camera.camera]
        assert len(shares) >= 3 and shares[-1]["people"]["without_mask"] > 0
    assert [event["camera"] for event in events if event["type"] == "restart"] == [
        cameras[0].camera if cameras[0].restarts else 1
    ]
    assert {summary["camera"] for summary in summaries} == {0, 1}


def test_the_video_script_gathers_every_camera_in_one_place(cluster, tmp_path):
    from crossing import make_crossing_video

    doors = [tmp_path / "door1.avi", tmp_path / "door2.avi"]
    for door in doors:
        make_crossing_video(door)
    refused = run_script("detect_mask_video.py", "--ray", cluster.address, "-s", doors[0], "-o", tmp_path / "out.avi")
    assert refused.returncode == 2 and "-o" in refused.stderr
    finished = run_script(
        "detect_mask_video.py",
        "--ray",
        cluster.address,
        "-s",
        doors[0],
        "-s",
        doors[1],
        "--json",
        tmp_path / "events.jsonl",
        "--stats-csv",
        tmp_path / "people.csv",
        "--alert-frames",
        "5",
    )
    assert finished.returncode == 0, finished.stderr
    events = [json.loads(line) for line in (tmp_path / "events.jsonl").read_text().splitlines()]
    assert {event["camera"] for event in events if event["type"] == "alert"} == {0, 1}
    assert [event["camera"] for event in events if event["type"] == "summary"] == [0, 1]
    for number in (1, 2):
        assert (tmp_path / f"people-{number}.csv").read_text().splitlines()[-1].startswith("all,2,3,")
    assert finished.stdout.count("== camera") == 2 and "ALERT: camera 1" in finished.stderr


def test_a_photo_is_one_record_however_the_archive_is_spelled(cluster, tmp_path, monkeypatch):
    results = tmp_path / "results"
    first = run_archive(ray, str(EXAMPLES), ResultsStore(results), SETTINGS, workers=1, progress=False)
    monkeypatch.chdir(EXAMPLES.parent)
    again = run_archive(ray, os.path.join(".", EXAMPLES.name, ""), ResultsStore(results), SETTINGS, workers=1, progress=False)
    assert (first.recorded, again.recorded, again.done_before) == (6, 0, 6)
    listing = tmp_path / "listing.txt"
    listing.write_text("".join(f"{path}\n{path.parent}/../{path.parent.name}/{path.name}\n" for path in EXAMPLES.glob("*.jpg")))
    listed = run_archive(ray, str(listing), ResultsStore(tmp_path / "listed"), SETTINGS, workers=1, progress=False)
    assert listed.listed == listed.recorded == 6


def test_parts_the_checkpoint_does_not_know_are_refused_never_removed(cluster, tmp_path):
    results = tmp_path / "results"
    run_archive(ray, str(EXAMPLES), ResultsStore(results), SETTINGS, workers=1, progress=False)
    parts = sorted(results.glob("part-*"))
    elsewhere = ResultsStore(results, checkpoint=tmp_path / "another_checkpoint")
    with pytest.raises(InputError, match="does not know the parts"):
        elsewhere.reconcile()
    assert sorted(results.glob("part-*")) == parts
    with pytest.raises(InputError, match="room for 2 detector actors"):
        run_archive(ray, str(EXAMPLES), ResultsStore(tmp_path / "r2"), SETTINGS, workers=3, progress=False)
