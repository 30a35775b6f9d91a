"""Every detection script's command line: help and version, no TensorFlow imported, no window without a display."""

import os
import subprocess
import sys
import textwrap

import cv2
import pytest
from conftest import ROOT, assert_one_line_error, run_script, tiny_video

from maskdetect.shipped_files import EXAMPLES


@pytest.mark.parametrize("script", ["detect_mask_image.py", "detect_mask_video.py"])
def test_help_shows_defaults_and_examples_and_version_is_known(script):
    from maskdetect import __version__

    result = run_script(script, "--help")
    assert result.returncode == 0
    assert "(default: 0.4)" in result.stdout and "examples:" in result.stdout and "--backend" in result.stdout
    version = run_script(script, "--version")
    assert version.returncode == 0 and __version__ in version.stdout


def _run_without_importing_tensorflow(script, *args):
    """Run a script in a fresh interpreter; returns (exit status, whether TensorFlow got imported)."""
    code = textwrap.dedent(f"""
        import runpy, sys
        sys.argv = {[str(ROOT / script), *map(str, args)]!r}
        try:
            runpy.run_path(sys.argv[0], run_name="__main__")
        except SystemExit as end:
            status = end.code
        print("STATUS", status, "tensorflow" in sys.modules)
    """)
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)
    _, status, imported = result.stdout.strip().splitlines()[-1].split()
    return int(status), imported == "True"


def test_detection_scripts_do_not_import_tensorflow(tmp_path):
    video = tmp_path / "faces.avi"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 10, (640, 480))
    for _ in range(5):
        writer.write(cv2.resize(cv2.imread(str(EXAMPLES / "fmd_2c7408b330.jpg")), (640, 480)))
    writer.release()
    assert _run_without_importing_tensorflow("detect_mask_image.py", "-i", EXAMPLES, "-o", tmp_path / "out") == (0, False)
    assert _run_without_importing_tensorflow("detect_mask_video.py", "-s", video, "--no-display") == (0, False)
    assert _run_without_importing_tensorflow("detect_mask_image.py", "-i", EXAMPLES, "-o", tmp_path / "k", "-b", "keras") == (
        0,
        True,
    )


def test_windows_without_a_display_are_refused_up_front(photos, tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    for command in (
        [ROOT / "detect_mask_image.py", "-i", photos, "--show", "-o", tmp_path / "out"],
        [ROOT / "detect_mask_video.py", "-s", tiny_video(tmp_path / "v.avi")],
    ):
        result = subprocess.run([sys.executable, *map(str, command)], capture_output=True, text=True, env=env, timeout=300)
        assert result.returncode == 2
        assert_one_line_error(result, "no display")
