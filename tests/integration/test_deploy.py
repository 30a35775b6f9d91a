"""The deployment files (Containerfile, deploy/) agree with the toolkit they deploy."""

import re

import yaml
from conftest import ROOT

from maskdetect import __version__
from maskdetect.cli import video
from maskdetect.cli.options import read_options
from maskdetect.settings import VideoSettings
from maskdetect.video.mqtt import Broker

DEPLOY = ROOT / "deploy"


def _pinned(requirements, package):
    text = (ROOT / requirements).read_text()
    return re.search(rf"^{re.escape(package)}(\[[^\]]*\])?==(\S+)", text, re.MULTILINE).group(2)


def test_the_containerfile_labels_the_image_with_the_toolkits_version():
    containerfile = (ROOT / "Containerfile").read_text()
    assert re.search(r"^ARG BASE=python:3\.12-slim$", containerfile, re.MULTILINE)
    assert re.search(rf"^ARG VERSION={re.escape(__version__)}$", containerfile, re.MULTILINE)
    stages = re.findall(r"^FROM (\S+)(?: AS (\S+))?$", containerfile, re.MULTILINE)
    named = [name for _, name in stages if name]
    assert {"detect", "ray"} <= set(named)
    assert all(parent == "${BASE}" or parent in named for parent, _ in stages)  # every stage stands on BASE
    assert containerfile.rstrip().splitlines()[-1] == "FROM detect"  # a build without --target: the detection image
    ignored = (ROOT / ".dockerignore").read_text().splitlines()
    for needed in ("!maskdetect/", "!face_detector/", "!pyproject.toml", "!requirements-*.txt"):
        assert needed in ignored


def test_the_compose_file_runs_a_video_command_the_toolkit_accepts():
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    monitor = compose["services"]["monitor"]
    assert monitor["image"] == f"maskdetect:{__version__}"
    command = monitor["command"]
    assert command[0] == "video"
    settings = read_options(VideoSettings(), video.parse_args(command[1:]))
    assert settings.source == ["env:CAMERA_URL"] and not settings.display
    broker = Broker.parse(settings.events.mqtt)
    assert broker.host in compose["services"] and broker.user == "monitor"
    assert settings.page.serve_token_file and not settings.page.serve_no_auth
    token_mounts = [volume for volume in monitor["volumes"] if volume.endswith(f":{settings.page.serve_token_file}:ro")]
    assert len(token_mounts) == 1
    broker_config = (DEPLOY / "mosquitto.conf").read_text()
    assert "allow_anonymous false" in broker_config and "password_file" in broker_config


def test_the_systemd_unit_runs_a_video_command_the_toolkit_accepts():
    unit = (DEPLOY / "mask-monitor.service").read_text()
    exec_start = re.search(r"^ExecStart=(.*?)(?<!\\)$", unit, re.MULTILINE | re.DOTALL).group(1)
    words = exec_start.replace("\\\n", " ").split()
    assert words[0].endswith("/mask-detect-video")
    settings = read_options(VideoSettings(), video.parse_args(words[1:]))
    assert settings.source == ["env:CAMERA_URL"] and settings.heartbeat.startswith("/run/maskdetect/")
    assert "RuntimeDirectory=maskdetect" in unit


def test_the_raycluster_runs_the_ray_image_of_the_pinned_ray():
    cluster = yaml.safe_load((DEPLOY / "raycluster.yaml").read_text())
    assert cluster["kind"] == "RayCluster" and cluster["apiVersion"] == "ray.io/v1"
    spec = cluster["spec"]
    assert spec["rayVersion"] == _pinned("requirements-ray.txt", "ray")
    assert spec["authOptions"]["mode"] == "token"
    pods = [spec["headGroupSpec"]["template"]["spec"]] + [group["template"]["spec"] for group in spec["workerGroupSpecs"]]
    for pod in pods:
        assert pod["securityContext"]["runAsUser"] == 10001  # the image's user
        (container,) = pod["containers"]
        assert container["image"].endswith(f"/maskdetect-ray:{__version__}")
