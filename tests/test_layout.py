"""The package's shape holds: no import cycle, nothing below the command line imports it, one Face record
from the detector to the JSON, and the video loop runs as a plain generator (no video file, no threads)."""

import json
import subprocess
import sys
import threading

import numpy as np
from conftest import ROOT

from maskdetect.face import Face
from maskdetect.io.records import frame_record
from maskdetect.video.alerts import PersonAlerts
from maskdetect.video.loop import analyse_frames
from maskdetect.video.sinks import JsonLinesSink
from maskdetect.video.summary import VideoSummary
from maskdetect.video.tracking import FaceTracker
from tools.import_graph import cycles, module_graph, upward_imports


def test_the_package_has_no_import_cycle_and_the_library_never_imports_the_command_line():
    graph = module_graph()
    assert len(graph) > 40 and "maskdetect.cli.video" in graph
    assert cycles(graph) == []
    assert upward_imports(graph) == []


def test_the_import_graph_tool_finds_a_cycle_and_an_upward_import(tmp_path):
    package = tmp_path / "maskdetect"
    (package / "cli").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("from maskdetect import b\n")
    (package / "b.py").write_text("def f():\n    from maskdetect.a import g\n")
    (package / "cli" / "__init__.py").write_text("")
    (package / "cli" / "common.py").write_text("import maskdetect.a\n")
    (package / "c.py").write_text("from maskdetect.cli.common import x\n")
    graph = module_graph(tmp_path)
    assert cycles(graph) == [["maskdetect.a", "maskdetect.b"]]
    assert upward_imports(graph) == [("maskdetect.c", "maskdetect.cli.common")]


def test_the_public_api_imports_neither_tensorflow_nor_the_command_line():
    code = "import sys, maskdetect.api; print(sorted(m for m in sys.modules if m.startswith(('tensorflow', 'maskdetect.cli'))))"
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


class StandInDetector:
    """Finds one face per frame where the frame's first pixel says so; masked when the second pixel is 1."""

    class_names = ["with_mask", "without_mask"]

    def __init__(self):
        self.made = []

    def find(self, frame):
        if not frame[0, 0, 0]:
            return []
        x = 100 + 2 * int(frame[0, 2, 0])  # the person walks right, two pixels a frame
        face = Face(x, 100, x + 60, 170, score=0.9)
        face.crop = np.zeros((4, 4, 3), np.uint8)
        self.made.append(face)
        return [face]

    def label(self, faces_per_image):
        for faces in faces_per_image:
            for face in faces:
                face.crop = None
                face.label, face.probability = "without_mask", 0.99
        return faces_per_image


def frames(count, face_from=0):
    made = []
    for index in range(count):
        frame = np.zeros((480, 640, 3), np.uint8)
        frame[0, 0], frame[0, 2] = int(index >= face_from), index
        made.append(frame)
    return made


def test_the_video_loop_is_a_generator_of_frame_results_over_one_face_record():
    detector = StandInDetector()
    before = threading.active_count()
    results = list(
        analyse_frames(
            detector,
            frames(20, face_from=2),
            FaceTracker(30.0),
            PersonAlerts({"without_mask"}, 5),
            frame_rate=30.0,
            find_ahead=False,
        )
    )
    assert threading.active_count() == before
    assert [result.index for result in results] == list(range(20))
    assert [result.time for result in results[:3]] == [0.0, 1 / 30, 2 / 30]
    faces = [face for result in results for face in result.faces]
    # The objects the detector made are the ones the classifier and the tracker filled in.
    assert len(faces) == len(detector.made) and all(face is made for face, made in zip(faces, detector.made))
    assert all(face.label == "without_mask" for face in faces)
    tracked = [face for face in faces if face.track_id is not None]
    assert len(tracked) >= 15 and len({face.track_id for face in tracked}) == 1
    assert all(face.person_label == "without_mask" for face in tracked)
    alerted = [result.index for result in results if result.alerts]
    assert len(alerted) == 1 and alerted[0] >= 6  # one alert, once the person was unmasked for 5 tracked frames


def test_json_lines_come_from_the_same_faces_and_end_with_the_summary(tmp_path):
    detector = StandInDetector()
    summary = VideoSummary({"without_mask"})
    path = tmp_path / "events.jsonl"
    with JsonLinesSink(path, summary) as events:
        for result in analyse_frames(detector, frames(12), FaceTracker(30.0), PersonAlerts({"without_mask"}, 3), 30.0, False):
            events.write(result)
            summary.write(result)
            assert not path.exists()  # written beside, moved in place when closed
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert [line["type"] for line in lines].count("frame") == 12 and lines[-1]["type"] == "summary"
    assert lines[-1]["frames"] == 12 and lines[-1]["alerts"] == 1
    assert [line for line in lines if line["type"] == "alert"][0]["label"] == "without_mask"
    last_face = detector.made[-1]
    assert lines[-2]["faces"][0] == frame_record(11, 11 / 30, [last_face])["faces"][0]
    assert lines[-2]["faces"][0]["track_id"] == last_face.track_id is not None


def _third_party(module, root=ROOT):
    """The top-level names of what ``module`` imports from outside the standard library and the package."""
    import ast

    path = root / (module.replace(".", "/") + ".py")
    if not path.exists():
        path = root / module.replace(".", "/") / "__init__.py"
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return {name for name in names if name not in sys.stdlib_module_names and name != "maskdetect"}


def _declared():
    """(detection, training, Ray) requirements from pyproject.toml, as normalised distribution names."""
    import re

    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]

    def names(requirements):
        return {re.split(r"[<>=!~\[ ;]", requirement)[0].lower().replace("_", "-") for requirement in requirements}

    extras = project["optional-dependencies"]
    return names(project["dependencies"]), names(extras["train"]), names(extras["ray"]) | names(extras["mqtt"])


def test_each_command_imports_only_what_its_extra_declares():
    from importlib.metadata import packages_distributions

    distributions = {name: {d.lower().replace("_", "-") for d in dists} for name, dists in packages_distributions().items()}
    graph = module_graph()
    detection, training, cluster = _declared()
    # The Keras backend is the one part of detection that needs the training extra (it says so when missing).
    keras_backend = {"maskdetect.classify.keras_backend", "maskdetect.quiet_tensorflow"}
    commands = {
        "image": detection,
        "video": detection,
        "evaluate": detection,
        "face_check": detection,
        "train": detection | training,
        "export": detection | training,
        "label_review": detection | training,
    }
    for command, allowed in commands.items():
        reached, todo = set(), [f"maskdetect.cli.{command}"]
        while todo:
            module = todo.pop()
            if module in reached or (allowed is detection and module in keras_backend):
                continue
            reached.add(module)
            todo.extend(graph[module])
        for module in reached:
            # --ray runs maskdetect.cluster, the one part that needs the ray extra (it says so when missing).
            extra = allowed | cluster if module.startswith(("maskdetect.cluster", "maskdetect.video.mqtt")) else allowed
            for name in _third_party(module):
                assert distributions.get(name, set()) & extra, f"{command} imports {name}, which its extra does not declare"
    outside = {module for module in graph if not module.startswith("maskdetect.cluster")}
    assert not any({"ray", "pyarrow"} & _third_party(module) for module in outside), "only maskdetect.cluster imports Ray"
    assert "imutils" not in detection | training  # said in the README: not used, and why


def test_the_module_list_in_docs_layout_is_the_codes():
    result = subprocess.run([sys.executable, str(ROOT / "tools" / "layout.py"), "--check"], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
