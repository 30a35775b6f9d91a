"""The Containerfile, built and run for real: a Debian base made by mmdebstrap, the images built by buildah.

Everything lives in a storage of the test's own (a temporary folder), and what the test made is removed by
its id. The route is the one docs/container.md gives for machines with no registry image and no
``podman run``: ``buildah run --isolation chroot`` runs commands in a container of the image.
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import ROOT, stalling_camera

from maskdetect import __version__

pytestmark = pytest.mark.slow
TOOLS = ("mmdebstrap", "buildah", "podman")
MISSING = [tool for tool in TOOLS if not shutil.which(tool)]
if MISSING:
    reason = f"{', '.join(MISSING)} not installed (apt install {' '.join(TOOLS)})"
    if os.environ.get("CI"):
        raise RuntimeError(f"the image tests cannot run in CI: {reason}")
    pytestmark = [pytestmark, pytest.mark.skip(reason=reason)]

# A size well above today's (694 MB on this base) that a stray heavy dependency (TensorFlow) would break.
MAX_DETECTION_IMAGE_BYTES = 800 * 10**6
# The Ray worker checks that its Python matches the head's to the patch level; the image's is Debian's.
SAME_MINOR_PYTHON = {"RAY_DEFAULT_PYTHON_VERSION_MATCH_LEVEL": "minor"}


class Storage:
    """buildah and podman on a storage of the test's own (vfs: no overlay mounts needed)."""

    def __init__(self, folder):
        self.folder = folder
        self.options = ["--root", str(folder / "root"), "--runroot", str(folder / "run"), "--storage-driver", "vfs"]

    def run(self, tool, *args, timeout=900, check=True, **options):
        result = subprocess.run([tool, *self.options, *map(str, args)], capture_output=True, text=True,
                                timeout=timeout, **options)
        if check and result.returncode != 0:
            raise AssertionError(f"{tool} {' '.join(map(str, args))} failed:\n{result.stdout[-3000:]}{result.stderr[-3000:]}")
        return result

    def build(self, base, *options):
        """Build the Containerfile; (image id, seconds)."""
        iidfile = self.folder / f"iid-{len(list(self.folder.glob('iid-*')))}"
        started = time.monotonic()
        self.run("buildah", "bud", "--isolation", "chroot", "--format", "docker",
                 "-v", "/etc/ssl/certs:/etc/ssl/certs:ro", "--build-arg", f"BASE={base}",
                 "--build-arg", f"REVISION={_revision()}", "--iidfile", iidfile, *options,
                 "-f", ROOT / "Containerfile", ROOT)
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
        return self.run("buildah", "run", "--isolation", "chroot", *options, container, "--", *command,
                        timeout=timeout, check=check)

    def popen_inside(self, container, *command, env=None):
        options = [item for name, value in (env or {}).items() for item in ("--env", f"{name}={value}")]
        return subprocess.Popen(["buildah", *self.options, "run", "--isolation", "chroot", *options, container, "--",
                                 *map(str, command)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                start_new_session=True)

    def stop_processes(self):
        """End the processes still running in this storage's containers (their root is one of its folders)."""
        root = (self.folder / "root").resolve()
        for entry in Path("/proc").iterdir():
            try:
                if entry.name.isdigit() and Path(os.readlink(entry / "root")).is_relative_to(root):
                    os.kill(int(entry.name), signal.SIGKILL)
            except (OSError, ValueError):
                continue


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
        ["mmdebstrap", "--quiet", "--variant=minbase", "--include=python3,python3-venv,ca-certificates",
         "--dpkgopt=path-exclude=/usr/share/man/*", "--dpkgopt=path-exclude=/usr/share/locale/*",
         "--dpkgopt=path-exclude=/usr/share/doc/*", "--dpkgopt=path-include=/usr/share/doc/*/copyright",
         "bookworm", base_tar],
        check=True, capture_output=True, timeout=600,
    )
    base = storage.run("podman", "import", base_tar, "localhost/maskdetect-test-base").stdout.strip().splitlines()[-1]
    base_tar.unlink()
    made = {"base": base.removeprefix("sha256:"), "containers": []}
    try:
        made["detect"], made["detect_seconds"] = storage.build("localhost/maskdetect-test-base")
        made["ray"], made["ray_seconds"] = storage.build("localhost/maskdetect-test-base", "--target", "ray")
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


def test_the_image_checks_a_bundled_photo_as_a_user_without_tensorflow(images, tmp_path):
    storage, made = images
    config = storage.inspect(made["detect"])["Docker"]["config"]
    labels = config["Labels"]
    assert labels["org.opencontainers.image.version"] == __version__
    assert labels["org.opencontainers.image.revision"] == _revision()
    assert labels["org.opencontainers.image.licenses"] and "org.opencontainers.image.source" in labels
    assert config["Entrypoint"] == ["python3", "-m", "maskdetect"] and config["User"] == "maskdetect"
    size = storage.size(made["detect"])
    print(f"\ndetection image: {size / 1e6:.0f} MB, built in {made['detect_seconds']:.0f} s; "
          f"Ray image: {storage.size(made['ray']) / 1e6:.0f} MB, {made['ray_seconds']:.0f} s more")
    assert size < MAX_DETECTION_IMAGE_BYTES

    container = _container(storage, made, "detect")
    results = tmp_path / "results"
    results.mkdir()
    results.chmod(0o777)  # the image's user writes here
    photo = "$(python3 -c 'from maskdetect.bundled import EXAMPLES; print(EXAMPLES)')/fmd_2c7408b330.jpg"
    checked = storage.inside(container, "sh", "-c", f"mask-detect-image -i {photo} --json /results/faces.json",
                             volumes=[f"{results}:/results"])
    assert "1 face (1 without_mask)" in checked.stdout
    report = json.loads((results / "faces.json").read_text())
    assert [face["label"] for face in report[0]["faces"]] == ["without_mask"]
    assert (results / "faces.json").stat().st_uid == 10001  # written by the image's user, not root

    python = "import importlib.util as u, os; print(os.getuid(), u.find_spec('tensorflow') is None, u.find_spec('paho') is not None)"
    assert storage.inside(container, "python3", "-c", python).stdout.split() == ["10001", "True", "True"]
    litert = storage.inside(container, "mask-detect-image", "-i", "/nothing.jpg", "--backend", "litert", check=False)
    assert litert.returncode == 2 and "leaves out" in litert.stderr and "Traceback" not in litert.stderr


def test_the_health_check_passes_while_the_video_runs_and_fails_when_it_stalls(images):
    storage, made = images
    healthcheck = storage.inspect(made["detect"])["Docker"]["config"]["Healthcheck"]
    assert healthcheck["Test"][0] == "CMD"
    command = healthcheck["Test"][1:]
    max_age = 30  # the health check's default
    container = _container(storage, made, "detect")
    assert storage.inside(container, *command, check=False).returncode == 1  # nothing running yet

    camera = stalling_camera(frames=60, stall_s=max_age + 15)
    video = storage.popen_inside(container, "mask-detect-video", "-s", camera, "--no-display", "--open-timeout", 120)
    try:
        deadline = time.monotonic() + 60
        while storage.inside(container, "test", "-e", "/run/maskdetect/heartbeat.json", check=False).returncode:
            assert time.monotonic() < deadline and video.poll() is None, video.communicate()
            time.sleep(0.5)
        healthy = storage.inside(container, *command, check=False)
        assert healthy.returncode == 0 and "healthy" in healthy.stdout, healthy.stderr
        time.sleep(max_age + 5)  # the camera has stopped sending, the run waits for it
        assert video.poll() is None
        stalled = storage.inside(container, *command, check=False)
        assert stalled.returncode == 1 and "stalled" in stalled.stderr
    finally:
        os.killpg(video.pid, signal.SIGTERM)
        video.communicate(timeout=60)


def test_the_ray_image_joins_a_cluster_as_a_worker_and_runs_the_toolkit(images, monkeypatch):
    ray = pytest.importorskip("ray", reason="Ray is not installed: pip install 'maskdetect[ray]'")
    from ray.cluster_utils import Cluster

    storage, made = images
    config = storage.inspect(made["ray"])["Docker"]["config"]
    assert not config.get("Entrypoint") and config["Cmd"][0] == "ray"
    for name, value in SAME_MINOR_PYTHON.items():
        monkeypatch.setenv(name, value)
    head = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "object_store_memory": 100 * 2**20})
    container = _container(storage, made, "ray")
    worker = storage.popen_inside(
        container, "ray", "start", "--address", head.address, "--num-cpus", "1", "--object-store-memory", 100 * 2**20,
        "--resources", json.dumps({"maskdetect_image": 1}), "--block", env=SAME_MINOR_PYTHON)
    try:
        ray.init(address=head.address)
        deadline = time.monotonic() + 120
        while not any(node["Alive"] and "maskdetect_image" in node["Resources"] for node in ray.nodes()):
            assert time.monotonic() < deadline and worker.poll() is None, worker.communicate()
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
    finally:
        ray.shutdown()
        os.killpg(worker.pid, signal.SIGTERM)
        worker.communicate(timeout=60)
        head.shutdown()
