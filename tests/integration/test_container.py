"""The Containerfile, built and run for real: a Debian base made by mmdebstrap, the images built by buildah.

Everything lives in a storage of the test's own (a temporary folder), and what the test made is removed by
its id. The storage keeps its layers with overlayfs where the kernel mounts it (each layer the changes of one
step), and as full copies of the tree (vfs) where it does not: the images are the same either way. The route is
the one docs/container.md gives for machines with no registry image and no ``podman run``: ``buildah run
--isolation chroot`` runs commands in a container of the image.
"""

import concurrent.futures
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import cv2
import pytest
from conftest import ROOT, free_port, photo_video, stalling_camera

from maskdetect import __version__

pytestmark = pytest.mark.slow
TOOLS = ("mmdebstrap", "buildah", "podman")
MISSING = [tool for tool in TOOLS if not shutil.which(tool)]
if MISSING:
    reason = f"{', '.join(MISSING)} not installed (apt install {' '.join(TOOLS)})"
    if os.environ.get("CI"):
        raise RuntimeError(f"the image tests cannot run in CI: {reason}")
    pytestmark = [pytestmark, pytest.mark.skip(reason=reason)]

# The goal for the detection image (579 MB on this 130 MB base); a stray heavy dependency breaks it.
MAX_DETECTION_IMAGE_BYTES = 600 * 10**6
# The Ray worker checks that its Python matches the head's to the patch level; the image's is Debian's.
SAME_MINOR_PYTHON = {"RAY_DEFAULT_PYTHON_VERSION_MATCH_LEVEL": "minor"}


def _storage_driver(folder):
    """overlay when buildah can use it here (the builds and their clean-up take about a minute less than with vfs,
    which copies the whole tree at each stage and container), else vfs (no overlay mounts needed)."""
    probe = ["--root", folder / "probe" / "root", "--runroot", folder / "probe" / "run", "--storage-driver", "overlay"]
    usable = subprocess.run(["buildah", *map(str, probe), "info"], capture_output=True, timeout=60).returncode == 0
    shutil.rmtree(folder / "probe", ignore_errors=True)
    return "overlay" if usable else "vfs"


class Storage:
    """buildah and podman on a storage of the test's own."""

    def __init__(self, folder):
        self.folder = folder
        self.driver = _storage_driver(folder)
        self.options = ["--root", str(folder / "root"), "--runroot", str(folder / "run"), "--storage-driver", self.driver]
        self.started, self.roots = [], set()

    def run(self, tool, *args, timeout=900, check=True, **options):
        result = subprocess.run(
            [tool, *self.options, *map(str, args)], capture_output=True, text=True, timeout=timeout, **options
        )
        if check and result.returncode != 0:
            raise AssertionError(f"{tool} {' '.join(map(str, args))} failed:\n{result.stdout[-3000:]}{result.stderr[-3000:]}")
        return result

    def build(self, name, base, *options):
        """Build the Containerfile; (image id, seconds)."""
        iidfile = self.folder / f"iid-{name}"
        started = time.monotonic()
        self.run(
            "buildah",
            "bud",
            "--isolation",
            "chroot",
            "--format",
            "docker",
            "-v",
            "/etc/ssl/certs:/etc/ssl/certs:ro",
            "--build-arg",
            f"BASE={base}",
            "--build-arg",
            f"REVISION={_revision()}",
            "--iidfile",
            iidfile,
            *options,
            "-f",
            ROOT / "Containerfile",
            ROOT,
        )
        return iidfile.read_text().strip().removeprefix("sha256:"), time.monotonic() - started

    def inspect(self, image):
        return json.loads(self.run("buildah", "inspect", "--type", "image", image).stdout)

    def size(self, image):
        return int(self.run("podman", "image", "inspect", "--format", "{{.Size}}", image).stdout)

    def container(self, image):
        return self.run("buildah", "from", "--pull-never", image).stdout.strip()

    def inside(self, container, *command, volumes=(), env=None, timeout=300, check=True):
        """Run a command in ``container`` as its image's user, in its working folder."""
        options = [item for volume in volumes for item in ("-v", volume)]
        options += [item for name, value in (env or {}).items() for item in ("--env", f"{name}={value}")]
        return self.run(
            "buildah", "run", "--isolation", "chroot", *options, container, "--", *command, timeout=timeout, check=check
        )

    def popen_inside(self, container, *command, env=None):
        options = [item for name, value in (env or {}).items() for item in ("--env", f"{name}={value}")]
        run = subprocess.Popen(
            ["buildah", *self.options, "run", "--isolation", "chroot", *options, container, "--", *map(str, command)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        self.started.append(run)
        return run

    def processes(self, named=""):
        """The processes of the ``buildah run`` commands started with ``popen_inside`` whose command line has
        ``named`` in it: their descendants, and whatever else runs in the folder each run chrooted into (where
        Ray's daemons go on after the command that started them)."""
        table = {}
        for entry in Path("/proc").iterdir():
            with contextlib.suppress(OSError, ValueError, IndexError):
                if entry.name.isdigit():
                    parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
                    table[int(entry.name)] = (
                        parent,
                        os.readlink(entry / "root"),
                        (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace"),
                    )
        ours = {run.pid for run in self.started}
        grew = True
        while grew:
            grew = False
            for pid, (parent, root, _) in table.items():
                if pid not in ours and (parent in ours or root in self.roots):
                    ours.add(pid)
                    grew = True
        self.roots |= {table[pid][1] for pid in ours if pid in table and table[pid][1] != "/"}
        return [
            pid
            for pid in ours - {run.pid for run in self.started}
            if pid in table and named in table[pid][2] and not (named and table[pid][2].startswith("buildah"))
        ]

    def stop_processes(self):
        """Kill what still runs of ``popen_inside``'s commands, and remove the folders their runs worked in
        (``buildah run`` leaves them behind when it is killed)."""
        for pid in self.processes():
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        for root in self.roots:
            work = Path(root).parents[1]  # /var/tmp/buildahNNN/mnt/rootfs
            if work.name.startswith("buildah"):
                shutil.rmtree(work, ignore_errors=True)


def _finish(process, timeout=60):
    """Wait for a process the test started; killed (its whole group) if it does not end in time."""
    try:
        return process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        return process.communicate()


def _revision():
    result = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True)
    return result.stdout.strip() if result.returncode == 0 else ""


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    """The detection and Ray images on a bare Debian base, with their build times; removed by id afterwards."""
    folder = tmp_path_factory.mktemp("images")
    storage = Storage(folder)
    base_tar = folder / "base.tar"
    subprocess.run(
        # merged-usr as a hook, not the usrmerge package, which pulls in Perl (49 MB): like debian:bookworm-slim.
        [
            "mmdebstrap",
            "--quiet",
            "--variant=minbase",
            "--include=python3,python3-venv,ca-certificates",
            "--hook-dir=/usr/share/mmdebstrap/hooks/merged-usr",
            "--dpkgopt=path-exclude=/usr/share/man/*",
            "--dpkgopt=path-exclude=/usr/share/locale/*",
            "--dpkgopt=path-exclude=/usr/share/doc/*",
            "--dpkgopt=path-include=/usr/share/doc/*/copyright",
            "bookworm",
            base_tar,
        ],
        check=True,
        capture_output=True,
        timeout=600,
    )
    base = storage.run("podman", "import", base_tar, "localhost/maskdetect-test-base").stdout.strip().splitlines()[-1]
    base_tar.unlink()
    made = {"base": base.removeprefix("sha256:"), "containers": []}
    try:
        # Both builds at once, each a plain build of the Containerfile (neither uses the other's stages).
        with concurrent.futures.ThreadPoolExecutor(2) as pool:
            builds = {
                "detect": pool.submit(storage.build, "detect", "localhost/maskdetect-test-base"),
                "ray": pool.submit(storage.build, "ray", "localhost/maskdetect-test-base", "--target", "ray"),
            }
            failed = [build.exception() for build in builds.values() if build.exception()]
            for image, build in builds.items():
                if not build.exception():
                    made[image], made[f"{image}_seconds"] = build.result()
        if failed:
            raise failed[0]
        yield storage, made
    finally:
        storage.stop_processes()
        for container in made["containers"]:
            storage.run("buildah", "rm", container, check=False)
        for image in ("ray", "detect", "base"):
            if image in made:
                storage.run("podman", "rmi", "--force", made[image], check=False)
        left = storage.run("podman", "images", "--all", "--quiet", check=False).stdout.split()
        assert not left, f"images left behind: {left}"
        shutil.rmtree(folder, ignore_errors=True)


def _container(storage, made, image):
    container = storage.container(made[image])
    made["containers"].append(container)
    return container


def _folder_for_the_image(tmp_path):
    """A folder to mount at /results that the image's user (uid 10001) can write in."""
    results = tmp_path / "results"
    results.mkdir()
    results.chmod(0o777)
    return results


def test_the_image_checks_a_bundled_photo_as_a_user_without_tensorflow(images, tmp_path):
    storage, made = images
    config = storage.inspect(made["detect"])["Docker"]["config"]
    labels = config["Labels"]
    assert labels["org.opencontainers.image.version"] == __version__
    assert labels["org.opencontainers.image.revision"] == _revision()
    assert labels["org.opencontainers.image.licenses"] and "org.opencontainers.image.source" in labels
    assert config["Entrypoint"] == ["python3", "-m", "maskdetect"] and config["User"] == "10001:10001"
    size = storage.size(made["detect"])
    print(
        f"\ndetection image: {size / 1e6:.0f} MB, built in {made['detect_seconds']:.0f} s; Ray image: "
        f"{storage.size(made['ray']) / 1e6:.0f} MB, built in {made['ray_seconds']:.0f} s (side by side, on {storage.driver})"
    )
    assert size < MAX_DETECTION_IMAGE_BYTES

    container = _container(storage, made, "detect")
    results = _folder_for_the_image(tmp_path)
    photo = "$(python3 -c 'from maskdetect.shipped_files import EXAMPLES; print(EXAMPLES)')/fmd_2c7408b330.jpg"
    checked = storage.inside(
        container, "sh", "-c", f"mask-detect-image -i {photo} --json /results/faces.json", volumes=[f"{results}:/results"]
    )
    assert "1 face (1 without_mask)" in checked.stdout
    report = json.loads((results / "faces.json").read_text())
    assert [face["label"] for face in report[0]["faces"]] == ["without_mask"]
    assert (results / "faces.json").stat().st_uid == 10001  # written by the image's user, not root

    python = (
        "import importlib.util as u, os; print(os.getuid(), *(u.find_spec(name) is not None for name in "
        "('tensorflow', 'pip', 'paho')))"
    )
    assert storage.inside(container, "python3", "-c", python).stdout.split() == ["10001", "False", "False", "True"]
    litert = storage.inside(container, "mask-detect-image", "-i", "/nothing.jpg", "--backend", "litert", check=False)
    assert litert.returncode == 2 and "leaves out" in litert.stderr and "Traceback" not in litert.stderr


def test_the_image_runs_a_video_file_with_tracking_and_its_statistics_plot(images, tmp_path):
    """What the image leaves out of its install (docs/container.md) is not what a video run needs: FFmpeg to
    read and write, SciPy for the tracker, matplotlib for the plot."""
    storage, made = images
    container = _container(storage, made, "detect")
    results = _folder_for_the_image(tmp_path)
    photo_video(results / "door.avi", frames=30)
    watched = storage.inside(
        container,
        "mask-detect-video",
        "-s",
        "/results/door.avi",
        "--no-display",
        "-o",
        "/results/annotated.avi",
        "--stats-plot",
        "/results/people.png",
        volumes=[f"{results}:/results"],
        check=False,
    )
    assert watched.returncode == 0 and "Traceback" not in watched.stderr, watched.stderr
    assert cv2.VideoCapture(str(results / "annotated.avi")).get(cv2.CAP_PROP_FRAME_COUNT) == 30
    assert (results / "people.png").read_bytes().startswith(b"\x89PNG")


def test_the_health_check_passes_while_the_video_runs_and_fails_when_it_stalls(images, tmp_path):
    storage, made = images
    healthcheck = storage.inspect(made["detect"])["Docker"]["config"]["Healthcheck"]
    assert healthcheck["Test"][0] == "CMD"
    command = healthcheck["Test"][1:]
    container = _container(storage, made, "detect")
    assert storage.inside(container, *command, check=False).returncode == 1  # nothing running yet

    # The check's own threshold, 30 s: a heartbeat 20 s old is healthy, one 40 s old has stalled.
    beats = _folder_for_the_image(tmp_path)
    for age, status in ((20, 0), (40, 1)):
        beat = {"type": "heartbeat", "time": time.time() - age, "frames": 10, "state": "running"}
        (beats / "heartbeat.json").write_text(json.dumps(beat))
        aged = storage.inside(
            container,
            *command,
            volumes=[f"{beats}:/beats"],
            env={"MASKDETECT_HEARTBEAT": "/beats/heartbeat.json"},
            check=False,
        )
        assert aged.returncode == status and ("stalled" in aged.stderr) == bool(status), (age, aged.stdout, aged.stderr)

    # A real run in the image, whose camera stops sending after 150 frames: healthy, then stalled while the run
    # waits for the camera (told with a threshold of a few seconds, so as not to wait 30), then ended.
    max_age = 5
    camera = stalling_camera(frames=150, stall_s=120)
    video = storage.popen_inside(container, "mask-detect-video", "-s", camera, "--no-display", "--open-timeout", 120)
    try:
        deadline = time.monotonic() + 60
        while storage.inside(container, "test", "-e", "/run/maskdetect/heartbeat.json", check=False).returncode:
            assert time.monotonic() < deadline and video.poll() is None, video.communicate()
            time.sleep(0.5)
        healthy = storage.inside(container, *command, "--max-age", max_age, check=False)
        assert healthy.returncode == 0 and "healthy" in healthy.stdout, healthy.stderr
        deadline = time.monotonic() + 60
        while (stalled := storage.inside(container, *command, "--max-age", max_age, check=False)).returncode == 0:
            assert time.monotonic() < deadline, "the run never stalled"
            time.sleep(1)
        assert video.poll() is None  # the camera has stopped sending, the run waits for it
        assert stalled.returncode == 1 and "stalled" in stalled.stderr, stalled.stderr
        # docker stop: SIGTERM to the run; it stops as on Ctrl+C and says so in its heartbeat.
        (pid,) = storage.processes("mask-detect-video")
        os.kill(pid, signal.SIGTERM)
        _, stderr = _finish(video)
        assert video.returncode == 130 and "Traceback" not in stderr, stderr
        ended = storage.inside(container, *command, check=False)
        assert ended.returncode == 1 and "finished" in ended.stderr
    finally:
        if video.poll() is None:
            os.killpg(video.pid, signal.SIGTERM)
        _finish(video)


def test_the_ray_image_joins_a_cluster_as_a_worker_and_runs_the_toolkit(images, monkeypatch):
    ray = pytest.importorskip("ray", reason="Ray is not installed: pip install 'maskdetect[ray]'")
    from ray.cluster_utils import Cluster

    storage, made = images
    config = storage.inspect(made["ray"])["Docker"]["config"]
    assert not config.get("Entrypoint") and config["Cmd"][0] == "ray"
    for name, value in SAME_MINOR_PYTHON.items():
        monkeypatch.setenv(name, value)
    head = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "object_store_memory": 100 * 2**20})
    try:
        container = _container(storage, made, "ray")
        assert storage.inside(container, "python3", "-m", "pip", "--version").returncode == 0  # for runtime_env pip
        agent_port = free_port()
        # As KubeRay starts it: a login shell (whose profile resets PATH) running ray start.
        worker = storage.popen_inside(
            container,
            "bash",
            "-lc",
            f"ray start --address {head.address} --num-cpus 1 --object-store-memory "
            f"{100 * 2**20} --dashboard-agent-listen-port {agent_port} --resources "
            f"'{json.dumps({'maskdetect_image': 1})}' --block",
            env=SAME_MINOR_PYTHON,
        )
        try:
            _run_a_task_on_the_image_worker(ray, head, worker, storage, container, agent_port)
        finally:
            ray.shutdown()
            for pid in storage.processes("ray start"):
                os.kill(pid, signal.SIGTERM)
            _finish(worker)
    finally:
        storage.stop_processes()
        head.shutdown()


def _run_a_task_on_the_image_worker(ray, head, worker, storage, container, agent_port):
    ray.init(address=head.address)
    deadline = time.monotonic() + 120
    while not any(node["Alive"] and "maskdetect_image" in node["Resources"] for node in ray.nodes()):
        assert time.monotonic() < deadline and worker.poll() is None, _finish(worker)
        time.sleep(1)
    # KubeRay's probe of a worker pod: wget on the dashboard agent's health route.
    probe = f"wget -T 2 -q -O- http://localhost:{agent_port}/api/local_raylet_healthz | grep success"
    deadline = time.monotonic() + 60
    while storage.inside(container, "bash", "-c", probe, check=False).returncode:
        assert time.monotonic() < deadline, "the worker's agent never answered KubeRay's probe"
        time.sleep(1)

    @ray.remote(resources={"maskdetect_image": 1})
    def check_a_bundled_photo():
        import sys

        from maskdetect import api

        faces = api.load_detector().detect(api.read_image(api.EXAMPLES / "fmd_4d175c5964.jpg"))
        return sys.prefix, [face.label for face in faces]

    prefix, labels = ray.get(check_a_bundled_photo.remote(), timeout=300)
    assert prefix == "/opt/maskdetect" and sys.prefix != prefix  # it ran in the image
    assert labels == ["with_mask"]
