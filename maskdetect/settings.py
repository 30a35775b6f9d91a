"""Every option of every job, defined once: frozen dataclasses whose fields hold each option's default and help.

The command lines are generated from these classes (``maskdetect.cli.options``), the Python API takes them,
and Ray ships them to its workers. A field with ``option(...)`` metadata is a command-line option; a field
whose default is itself a settings class adds that class's options in its place. Creating a settings object
checks each value as its option's parser does, so a bad number is refused the same way from Python and from
the shell.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, fields, is_dataclass, replace
from typing import Any, TypeVar

from maskdetect.classify.backends import BACKENDS, DEFAULT_BACKEND, EXPORT_SUFFIXES
from maskdetect.cluster import DEFAULT_PART_SIZE, FORMATS
from maskdetect.detect.detectors import (
    DEFAULT_CONFIDENCE,
    DEFAULT_DETECTOR,
    DETECTORS,
    MIN_DETECTION_SIDE,
    PHOTO_UPSCALE,
    VIDEO_DETECT_SIZE,
    YUNET_MAX_SIDE,
)
from maskdetect.errors import InputError
from maskdetect.io.images import DEFAULT_MAX_PIXELS
from maskdetect.serve.access import DEFAULT_MAX_CLIENTS
from maskdetect.shipped_files import FACE_DETECTOR_DIR, IMAGENET_WEIGHTS, SHIPPED_MODEL, TRAINED_MODEL, default_model
from maskdetect.video.sources import DEFAULT_OPEN_TIMEOUT_S

Parser = Callable[[str], Any]
Settings = TypeVar("Settings")

# Training: the formats a model is exported to, the ways samples are weighted, and the judged accuracy the
# judging rule is calibrated for.
EXPORT_FORMATS = tuple(EXPORT_SUFFIXES)
WEIGHTINGS = ("measured", "count", "none")
DEFAULT_JUDGED_ACCURACY = 0.97
# A mask worn incorrectly looks much like one worn right: its weight in the decision is lowered until the
# other classes' validation recall is within this of what it is when the class is never chosen.
DEFAULT_THIRD_CLASS_COST = 0.005
# Faces shorter than this are never judged, whatever the model's rule says (0: the rule decides).
DEFAULT_MIN_FACE_SIZE = 0
# --adapt-from: the collected faces' share of the training weight, the share of the collected people held out
# to measure on, the epochs, and the most accuracy on the datasets' validation faces an adapted model may lose (points).
DEFAULT_SITE_WEIGHT = 0.5
DEFAULT_SITE_HOLDOUT = 0.3
DEFAULT_ADAPT_EPOCHS = 4
DEFAULT_ADAPT_LEARNING_RATE = 4e-5
DEFAULT_ACCEPT_LOSS = 1.0
# --collect: at most this many faces a run, unless --collect-max says otherwise.
DEFAULT_COLLECT_MAX = 200
# Many cameras on Ray: sources per watcher actor, sharing its detector.
DEFAULT_STREAMS_PER_WATCHER = 4


def at_least(minimum: int) -> Parser:
    """A parser of whole numbers no smaller than ``minimum``."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, got {value}")
        return value

    return parse


def number(
    minimum: float | None = None, maximum: float | None = None, above: float | None = None, below: float | None = None
) -> Parser:
    """A parser of finite numbers within the bounds given (nan, inf and words are refused)."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
        if not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"must be a finite number, got {text}")
        for bound, fails, words in (
            (minimum, lambda b: value < b, "at least"),
            (maximum, lambda b: value > b, "at most"),
            (above, lambda b: value <= b, "more than"),
            (below, lambda b: value >= b, "less than"),
        ):
            if bound is not None and fails(bound):
                raise argparse.ArgumentTypeError(f"must be {words} {bound:g}, got {text}")
        return value

    return parse


def option(
    *flags: str, help: str, type: Parser | None = None, group: str | None = None, checked: bool = True, **argparse_settings: Any
) -> dict[str, Any]:
    """The metadata that makes a field a command-line option: its flags, help and parser (``type``), the
    argument group it is listed under, and any other ``argparse.add_argument`` setting (choices, metavar,
    nargs, action, const). ``checked=False``: creating the settings does not run ``type`` on the value (the
    job checks it later, with its own message)."""
    return {"option": {"flags": flags, "help": help, "type": type, "group": group, "checked": checked, **argparse_settings}}


def check(settings: Any) -> None:
    """Refuse a value its option's parser would refuse, as one InputError naming the option."""
    for item in fields(settings):
        spec = item.metadata.get("option")
        value = getattr(settings, item.name)
        if spec is None or value is None or not spec["checked"]:
            continue
        values = value if isinstance(value, (list, tuple)) else [value]
        flag = spec["flags"][-1]
        for one in values:
            try:
                if spec["type"] is not None:
                    spec["type"](str(one))
                if spec.get("choices") is not None and one not in spec["choices"]:
                    raise argparse.ArgumentTypeError(f"must be one of {', '.join(map(str, spec['choices']))}, got {one!r}")
            except argparse.ArgumentTypeError as error:
                raise InputError(f"{flag}: {error}") from None


def nested(settings: Any) -> Any:
    """A field holding another settings object, whose options are listed in its place."""
    return field(default_factory=lambda: settings)


def options_of(settings: Any) -> list[tuple[str, dict[str, Any], Any]]:
    """(field name, option metadata, value) of each option of ``settings``, nested ones included, in order."""
    found = []
    for item in fields(settings):
        value = getattr(settings, item.name)
        if "option" in item.metadata:
            found.append((item.name, item.metadata["option"], value))
        elif is_dataclass(value):
            found.extend(options_of(value))
    return found


def with_values(settings: Settings, values: dict[str, Any]) -> Settings:
    """``settings`` with the options named in ``values`` (by field name, nested ones included) replaced."""
    changes = {}
    for item in fields(settings):  # type: ignore[arg-type]
        value = getattr(settings, item.name)
        if "option" in item.metadata and item.name in values:
            changes[item.name] = values[item.name]
        elif is_dataclass(value) and "option" not in item.metadata:
            changes[item.name] = with_values(value, values)
    return replace(settings, **changes)  # type: ignore[type-var]


@dataclass(frozen=True)
class DetectorSettings:
    """How faces are found and labelled: the options of every command that detects (``api.load_detector``)."""

    model: str = field(
        default_factory=lambda: str(default_model()),
        metadata=option(
            "-m",
            "--model",
            checked=False,
            help="trained mask classifier: a Keras model, whose export beside it the backend runs, or a .onnx or .tflite "
            f"file (default: {TRAINED_MODEL} in this folder if there, else the model shipped with the package)",
        ),
    )
    backend: str | None = field(
        default=None,
        metadata=option(
            "-b",
            "--backend",
            choices=BACKENDS,
            help=f"what runs the classifier (default {DEFAULT_BACKEND}; a .onnx or .tflite --model names its own): "
            "onnx (ONNX Runtime), litert (LiteRT, for Raspberry Pi and other ARM boards), keras (TensorFlow, slow to start)",
        ),
    )
    face_detector: str | None = field(
        default=DEFAULT_DETECTOR, metadata=option("-f", "--face-detector", choices=DETECTORS, help="face detector")
    )
    face_detector_dir: str = field(
        default=str(FACE_DETECTOR_DIR),
        metadata=option("--face-detector-dir", checked=False, help="folder of face detector files"),
    )
    detect_size: int = field(
        default=YUNET_MAX_SIDE,
        metadata=option(
            "--detect-size",
            type=at_least(MIN_DETECTION_SIDE),
            help="YuNet searches each image shrunk to at most this many pixels on its long side: "
            "smaller is faster and misses more small faces (docs/benchmarks.md)",
        ),
    )
    upscale: float = field(
        default=PHOTO_UPSCALE,
        metadata=option(
            "--upscale",
            type=number(minimum=1.0, maximum=4.0),
            help="YuNet searches each image enlarged this many times (within --detect-size): masked faces are found "
            "more often in enlarged photos, at about the square of this in time (docs/benchmarks.md)",
        ),
    )
    confidence: float = field(
        default=DEFAULT_CONFIDENCE,
        metadata=option("-c", "--confidence", type=number(above=0.0, maximum=1.0), help="face detection threshold"),
    )
    min_face_size: int = field(
        default=DEFAULT_MIN_FACE_SIZE,
        metadata=option(
            "--min-face-size",
            type=at_least(0),
            help="faces shorter than this many pixels are boxed but never labelled (too small to judge), whatever the "
            "model's judging rule says; 0 leaves it to the rule",
        ),
    )
    # Stand faces lying on their side upright before judging them (photos); people at a camera stand upright.
    upright: bool = True
    # Threads of the classifier and of the face detector (None: one per core).
    classifier_threads: int | None = None
    face_detector_threads: int | None = None

    def __post_init__(self) -> None:
        check(self)


VIDEO_DETECTOR = DetectorSettings(detect_size=VIDEO_DETECT_SIZE, upscale=1.0, upright=False)

RAY_GROUP_PHOTOS = "a photo archive on a Ray cluster (pip install 'maskdetect[ray]')"
RAY_GROUP_CAMERAS = "many cameras on a Ray cluster (pip install 'maskdetect[ray]')"
MQTT_GROUP = "MQTT events for a building's systems (pip install 'maskdetect[mqtt]')"
PAGE_GROUP = "who may open the live page"
ADAPT_GROUP = "adapting a trained model to one place (docs/learn_your_door.md)"
COLLECT_GROUP = "collecting faces to label and adapt the model to this place (docs/learn_your_door.md)"


@dataclass(frozen=True)
class ArchiveSettings:
    """A photo archive on Ray (``mask-detect-image --ray``): where the records go and how."""

    ray: str | None = field(
        default=None,
        metadata=option(
            "--ray",
            nargs="?",
            const="local",
            metavar="ADDRESS",
            group=RAY_GROUP_PHOTOS,
            checked=False,
            help="run on Ray: alone or 'local' starts a local Ray, 'auto' finds a running one, HOST:PORT joins one; "
            "-i is then one folder, bucket prefix (s3://...) or listing file (one path a line)",
        ),
    )
    results: str | None = field(
        default=None,
        metadata=option(
            "--results", metavar="DIR", group=RAY_GROUP_PHOTOS, help="with --ray: the folder or URI the records go to, in parts"
        ),
    )
    format: str = field(
        default="jsonl",
        metadata=option("--format", choices=FORMATS, group=RAY_GROUP_PHOTOS, help="with --ray: the records' file format"),
    )
    checkpoint: str | None = field(
        default=None,
        metadata=option(
            "--checkpoint",
            metavar="DIR",
            group=RAY_GROUP_PHOTOS,
            help="with --ray: where the committed parts are noted (default: RESULTS/_checkpoint)",
        ),
    )
    part_size: int = field(
        default=DEFAULT_PART_SIZE,
        metadata=option("--part-size", type=at_least(1), group=RAY_GROUP_PHOTOS, help="with --ray: records per part file"),
    )
    workers: int | None = field(
        default=None,
        metadata=option(
            "--workers",
            type=at_least(1),
            group=RAY_GROUP_PHOTOS,
            help="with --ray: detector actors (default: one per CPU of the cluster)",
        ),
    )

    def __post_init__(self) -> None:
        check(self)


@dataclass(frozen=True)
class CollectSettings:
    """Collecting the faces the model was least sure of, for labelling and adapting (``--collect``)."""

    collect: str | None = field(
        default=None,
        metadata=option(
            "--collect",
            metavar="DIR",
            group=COLLECT_GROUP,
            checked=False,
            help="keep the faces the model was least sure of in DIR (one per person; crop, context and JSON) to "
            "label with 'python -m maskdetect label DIR'; off by default: they are faces of real people",
        ),
    )
    collect_max: int = field(
        default=DEFAULT_COLLECT_MAX,
        metadata=option(
            "--collect-max",
            type=at_least(1),
            metavar="N",
            group=COLLECT_GROUP,
            help="with --collect: at most this many faces a run",
        ),
    )

    def __post_init__(self) -> None:
        check(self)


@dataclass(frozen=True)
class PhotoSettings:
    """Photos and folders of photos (``mask-detect-image``): inputs, detector, outputs, and an archive on Ray."""

    image: Sequence[str] = field(
        default_factory=lambda: [str(_examples())],
        metadata=option(
            "-i",
            "--image",
            nargs="+",
            checked=False,
            help="image files and/or folders of images (default: the example photos shipped with the package)",
        ),
    )
    detector: DetectorSettings = nested(DetectorSettings())
    output: str | None = field(
        default=None,
        metadata=option(
            "-o",
            "--output",
            checked=False,
            help="file (one input) or folder for annotated copies (default: output; with --ray, "
            "no copies unless given: a folder or URI)",
        ),
    )
    json: str | None = field(
        default=None,
        metadata=option("--json", metavar="PATH", checked=False, help="write results as JSON to PATH, or '-' for stdout"),
    )
    whole_image: bool = field(
        default=False, metadata=option("--whole-image", action="store_true", help="no face detection: each image is one face")
    )
    show: bool = field(
        default=False, metadata=option("--show", action="store_true", help="show each annotated image in a window")
    )
    max_pixels: int = field(
        default=DEFAULT_MAX_PIXELS,
        metadata=option(
            "--max-pixels",
            type=at_least(1),
            help="refuse (skip, with one line) any image above this many pixels, told from its header before it is "
            "decoded: a small file can hold a huge image",
        ),
    )
    collecting: CollectSettings = nested(CollectSettings())
    archive: ArchiveSettings = nested(ArchiveSettings())
    # Progress bars on stderr (the command line's -q turns them off).
    progress: bool = False

    def __post_init__(self) -> None:
        check(self)


def _examples() -> Any:
    from maskdetect.shipped_files import EXAMPLES

    return EXAMPLES


@dataclass(frozen=True)
class MqttSettings:
    """Alerts, statistics, state and summary published to an MQTT broker (``--mqtt``)."""

    mqtt: str | None = field(
        default=None,
        metadata=option(
            "--mqtt",
            metavar="URL",
            group=MQTT_GROUP,
            checked=False,
            help="publish alerts, per-minute statistics, state and summary to mqtt://[USER@]HOST[:PORT][/PREFIX] "
            "(mqtts:// for TLS), under PREFIX/CAMERA/... (docs/json.md#mqtt-events)",
        ),
    )
    mqtt_password_file: str | None = field(
        default=None,
        metadata=option(
            "--mqtt-password-file",
            metavar="PATH",
            group=MQTT_GROUP,
            checked=False,
            help="the broker password, from a file only you can read (or the MASKDETECT_MQTT_PASSWORD variable)",
        ),
    )
    mqtt_ca_file: str | None = field(
        default=None,
        metadata=option(
            "--mqtt-ca-file",
            metavar="PATH",
            group=MQTT_GROUP,
            checked=False,
            help="the certificate authority of an mqtts:// broker",
        ),
    )
    mqtt_discovery: bool = field(
        default=False,
        metadata=option(
            "--mqtt-discovery",
            action="store_true",
            group=MQTT_GROUP,
            help="announce each camera's sensors to Home Assistant (MQTT discovery)",
        ),
    )
    camera_name: Sequence[str] = field(
        default_factory=list,
        metadata=option(
            "--camera-name",
            action="append",
            metavar="NAME",
            group=MQTT_GROUP,
            checked=False,
            help="each source's name in the topics, in -s order (default: from its address)",
        ),
    )

    def __post_init__(self) -> None:
        check(self)


@dataclass(frozen=True)
class PageSettings:
    """Who may open the live page or the dashboard (``--serve-*``)."""

    serve_token_file: str | None = field(
        default=None,
        metadata=option(
            "--serve-token-file",
            metavar="PATH",
            group=PAGE_GROUP,
            checked=False,
            help="the page's token, from a file only you can read (default: a new random token each run)",
        ),
    )
    serve_no_auth: bool = field(
        default=False,
        metadata=option(
            "--serve-no-auth", action="store_true", group=PAGE_GROUP, help="no token: only for a page on this machine (127.0.0.1)"
        ),
    )
    serve_cert: str | None = field(
        default=None,
        metadata=option(
            "--serve-cert", metavar="FILE", group=PAGE_GROUP, checked=False, help="serve over HTTPS with this certificate (PEM)"
        ),
    )
    serve_key: str | None = field(
        default=None,
        metadata=option(
            "--serve-key", metavar="FILE", group=PAGE_GROUP, checked=False, help="the private key of --serve-cert (PEM)"
        ),
    )
    serve_allow_host: Sequence[str] = field(
        default_factory=list,
        metadata=option(
            "--serve-allow-host",
            action="append",
            metavar="NAME",
            group=PAGE_GROUP,
            checked=False,
            help="also answer requests for this host name (a reverse proxy's, the machine's DNS name); "
            "others are refused against DNS rebinding",
        ),
    )
    serve_max_clients: int = field(
        default=DEFAULT_MAX_CLIENTS,
        metadata=option(
            "--serve-max-clients", type=at_least(1), group=PAGE_GROUP, help="streams served at once; more viewers get 503"
        ),
    )

    def __post_init__(self) -> None:
        check(self)


@dataclass(frozen=True)
class CameraSettings:
    """Many cameras on Ray actors (``mask-detect-video --ray``)."""

    ray: str | None = field(
        default=None,
        metadata=option(
            "--ray",
            nargs="?",
            const="local",
            metavar="ADDRESS",
            group=RAY_GROUP_CAMERAS,
            checked=False,
            help="watch the sources on Ray actors: alone or 'local' starts a local Ray, 'auto' finds a running one, "
            "HOST:PORT joins one; events, statistics and the --serve dashboard gather every camera (no window, no -o)",
        ),
    )
    streams_per_watcher: int = field(
        default=DEFAULT_STREAMS_PER_WATCHER,
        metadata=option(
            "--streams-per-watcher",
            type=at_least(1),
            group=RAY_GROUP_CAMERAS,
            help="with --ray: sources per actor, sharing its detector",
        ),
    )
    stats_every: float = field(
        default=60.0,
        metadata=option(
            "--stats-every",
            type=number(above=0.0),
            metavar="SECONDS",
            group=RAY_GROUP_CAMERAS,
            help="with --ray: how often each camera's people counts and masked share are sent (the chart)",
        ),
    )

    def __post_init__(self) -> None:
        check(self)


@dataclass(frozen=True)
class VideoSettings:
    """Webcams, video files and streams (``mask-detect-video``): sources, detector, alerts, outputs, page, MQTT."""

    source: Sequence[str] | None = field(
        default=None,
        metadata=option(
            "-s",
            "--source",
            action="append",
            checked=False,
            help="webcam index, video file, device (/dev/video0), image sequence (img_%%04d.jpg), GStreamer pipeline or "
            "stream URL; env:NAME reads it from the environment variable NAME, keeping a camera's password out of the "
            "process list; repeat to watch several at once, each with numbered outputs (out-1.avi, ...) (default: 0)",
        ),
    )
    detector: DetectorSettings = nested(VIDEO_DETECTOR)
    display: bool = field(default=True, metadata=option("--no-display", action="store_false", help="run headless: no window"))
    output: str | None = field(
        default=None, metadata=option("-o", "--output", checked=False, help="write the annotated video here (.avi, .mp4 or .mkv)")
    )
    json_path: str | None = field(
        default=None,
        metadata=option(
            "--json", metavar="PATH", checked=False, help="JSON lines per frame and alert, to PATH or '-' for stdout"
        ),
    )
    alert_frames: int = field(
        default=10,
        metadata=option(
            "--alert-frames",
            type=at_least(1),
            help="a person raises one alert once their voted label has been unmasked for this many of their frames in a row",
        ),
    )
    realert_s: float = field(
        default=0.0,
        metadata=option(
            "--realert-after",
            type=number(minimum=0.0),
            metavar="SECONDS",
            help="alert again for a person still unmasked after this many seconds (0: one alert per person)",
        ),
    )
    snapshots: str | None = field(
        default=None,
        metadata=option(
            "--snapshots", metavar="DIR", checked=False, help="save the annotated frame of each alert here as a JPEG"
        ),
    )
    blur: bool = field(
        default=False,
        metadata=option(
            "--blur", action="store_true", help="blur every face in everything written and shown (video, snapshots, window)"
        ),
    )
    stats_csv: str | None = field(
        default=None,
        metadata=option(
            "--stats-csv",
            metavar="PATH",
            checked=False,
            help="write unique people per class and masked share, per minute, as CSV",
        ),
    )
    stats_plot: str | None = field(
        default=None,
        metadata=option(
            "--stats-plot", metavar="PATH", checked=False, help="plot people per class and masked share per minute (PNG)"
        ),
    )
    alert_classes: Sequence[str] | None = field(
        default=None,
        metadata=option(
            "--alert-on",
            nargs="+",
            metavar="CLASS",
            checked=False,
            help="the classes that raise alerts (default: every class that does not comply, see --compliant: "
            "without_mask and mask_weared_incorrect)",
        ),
    )
    compliant_classes: Sequence[str] | None = field(
        default=None,
        metadata=option(
            "--compliant",
            nargs="+",
            metavar="CLASS",
            checked=False,
            help="the classes that comply, for alerts and the masked share (default: with_mask; "
            "'--compliant with_mask mask_weared_incorrect' counts a mask worn under the nose as compliant)",
        ),
    )
    beep: bool = field(default=False, metadata=option("--beep", action="store_true", help="ring the terminal bell on each alert"))
    serve: str | None = field(
        default=None,
        metadata=option(
            "--serve",
            metavar="[HOST:]PORT",
            checked=False,
            help="serve a live page with the annotated stream and the counts at http://HOST:PORT/ (host 127.0.0.1 unless "
            "given); opened with the token the run prints (docs/entrance.md#watching-from-another-machine)",
        ),
    )
    events: MqttSettings = nested(MqttSettings())
    page: PageSettings = nested(PageSettings())
    max_frames: int | None = field(
        default=None, metadata=option("--max-frames", type=at_least(1), help="stop after this many frames (of each source)")
    )
    heartbeat: str | None = field(
        default=None,
        metadata=option(
            "--heartbeat",
            metavar="PATH",
            checked=False,
            help="rewrite PATH every 2 s while frames come, for 'python -m maskdetect health PATH' "
            "(a container's HEALTHCHECK, a monitor; default: $MASKDETECT_HEARTBEAT, which the image sets)",
        ),
    )
    open_timeout: float = field(
        default=DEFAULT_OPEN_TIMEOUT_S,
        metadata=option(
            "--open-timeout",
            type=number(above=0.0, maximum=3600.0),
            metavar="SECONDS",
            help="give up on a source that does not open within this time (a FIFO nobody writes to, a server that "
            "never answers); a stream also gives up a read that waits this long",
        ),
    )
    collecting: CollectSettings = nested(CollectSettings())
    collect_unblurred: bool = field(
        default=False,
        metadata=option(
            "--collect-unblurred",
            action="store_true",
            group=COLLECT_GROUP,
            help="with --collect and --blur: collect the faces anyway (they are kept unblurred)",
        ),
    )
    cameras: CameraSettings = nested(CameraSettings())
    # Progress bars on stderr (the command line's -q turns them off).
    progress: bool = False

    def __post_init__(self) -> None:
        check(self)


@dataclass(frozen=True)
class TrainingSettings:
    """Everything a training run can be told; the defaults are the shipped model's (``mask-train``)."""

    datasets: Sequence[str] = field(
        default_factory=lambda: ["dataset"],
        metadata=option(
            "-d",
            "--dataset",
            action="append",
            checked=False,
            help="folder with one subfolder of images per class; repeat to merge folders (default: dataset)",
        ),
    )
    model: str = field(
        default=TRAINED_MODEL, metadata=option("-m", "--model", checked=False, help="where to write the trained model")
    )
    plot: str = field(
        default="plot.png", metadata=option("-p", "--plot", checked=False, help="where to write the loss/accuracy plot")
    )
    report: str = field(
        default="training_report.json", metadata=option("-r", "--report", checked=False, help="where to write the JSON report")
    )
    weights: str = field(
        default=str(IMAGENET_WEIGHTS),
        metadata=option(
            "-w",
            "--weights",
            checked=False,
            help="ImageNet weights for MobileNetV2: a .h5 file, 'imagenet' to download, or 'none'",
        ),
    )
    head_epochs: int = field(
        default=12, metadata=option("--head-epochs", type=int, checked=False, help="stage 1: epochs of the head alone")
    )
    fine_tune_epochs: int = field(
        default=5,
        metadata=option(
            "--fine-tune-epochs",
            type=int,
            checked=False,
            help="stage 2: epochs fine-tuning the top blocks with the head (0: no fine-tuning)",
        ),
    )
    classes: Sequence[str] | None = field(
        default=None,
        metadata=option(
            "--classes",
            nargs="+",
            metavar="CLASS",
            checked=False,
            help="train on these class folders only (default: every class folder of the datasets)",
        ),
    )
    top_blocks: int = field(
        default=2, metadata=option("--top-blocks", type=int, checked=False, help="MobileNetV2 blocks fine-tuned in stage 2 (0-3)")
    )
    members: int = field(
        default=3,
        metadata=option(
            "--members",
            type=int,
            checked=False,
            help="copies of the top blocks and head, trained apart on the shared frozen base and averaged in one graph: "
            "results that depend less on the seed",
        ),
    )
    third_class_cost: float = field(
        default=DEFAULT_THIRD_CLASS_COST,
        metadata=option(
            "--third-class-cost",
            type=number(minimum=0.0, below=0.5),
            checked=False,
            help="with a mask_weared_incorrect class: how much validation recall each other class may lose to it "
            "(its weight in the decision is lowered until then)",
        ),
    )
    judged_accuracy: float = field(
        default=DEFAULT_JUDGED_ACCURACY,
        metadata=option(
            "--judged-accuracy",
            type=number(minimum=0.5, below=1.0),
            checked=False,
            help="per face size, the probability under which a face gets no label ('uncertain', or 'too_small' where "
            "no face can be) is set on validation faces so that the judged ones of each class, and of each source of 100 "
            "or more, are right this often",
        ),
    )
    batch_size: int = field(default=64, metadata=option("--batch-size", type=int, checked=False, help="images per training step"))
    learning_rate: float = field(
        default=1e-3,
        metadata=option("--learning-rate", type=number(above=0.0, maximum=10.0), checked=False, help="stage 1 learning rate"),
    )
    fine_tune_learning_rate: float = field(
        default=2e-5,
        metadata=option(
            "--fine-tune-learning-rate", type=number(above=0.0, maximum=10.0), checked=False, help="stage 2 learning rate"
        ),
    )
    val_split: float = field(
        default=0.2,
        metadata=option(
            "--val-split", type=number(above=0.0, below=0.5), checked=False, help="share of images held out for validation"
        ),
    )
    seed: int = field(
        default=42, metadata=option("--seed", type=int, checked=False, help="seed of the split, the views and the training")
    )
    views: int = field(
        default=2,
        metadata=option(
            "--views",
            type=int,
            checked=False,
            help="augmented views per training image whose features are computed (epochs cycle through them)",
        ),
    )
    lower_face: bool = field(
        default=True,
        metadata=option(
            "--lower-face",
            action=argparse.BooleanOptionalAction,
            help="also judge a second, closer view of the lower face (under the eyes to the chin), stacked under the face",
        ),
    )
    degrade: float = field(
        default=0.7,
        metadata=option(
            "--degrade",
            type=number(minimum=0.0, maximum=1.0),
            checked=False,
            help="share of views degraded like a poor webcam or a crowd photo (small, dark, colour cast, JPEG)",
        ),
    )
    weighting: str = field(
        default="measured",
        metadata=option(
            "--weighting",
            choices=WEIGHTINGS,
            checked=False,
            help="sample weights per source and class: by loss measured after stage 1, by image counts only, or none",
        ),
    )
    exports: Sequence[str] = field(
        default_factory=lambda: list(EXPORT_FORMATS),
        metadata=option(
            "--export",
            nargs="*",
            choices=EXPORT_FORMATS,
            metavar="FORMAT",
            checked=False,
            help="also write the model for inference without TensorFlow, beside it under the same name: "
            "onnx (.onnx, for ONNX Runtime) and/or litert (.tflite); none with an empty list",
        ),
    )
    adapt_from: str | None = field(
        default=None,
        metadata=option(
            "--adapt-from",
            nargs="?",
            const=str(SHIPPED_MODEL),
            metavar="MODEL",
            group=ADAPT_GROUP,
            checked=False,
            help="adapt this trained model (alone: the shipped one) to a place, on the datasets and the collected faces "
            "among them (a --dataset labelled with 'python -m maskdetect label'), instead of training from ImageNet",
        ),
    )
    site_weight: float = field(
        default=DEFAULT_SITE_WEIGHT,
        metadata=option(
            "--site-weight",
            type=number(above=0.0, below=1.0),
            metavar="SHARE",
            group=ADAPT_GROUP,
            help="with --adapt-from: the share of the training weight the collected faces carry",
        ),
    )
    site_holdout: float = field(
        default=DEFAULT_SITE_HOLDOUT,
        metadata=option(
            "--site-holdout",
            type=number(above=0.0, below=1.0),
            metavar="SHARE",
            group=ADAPT_GROUP,
            help="with --adapt-from: the share of the collected people (all their faces) held out to measure on",
        ),
    )
    adapt_epochs: int = field(
        default=DEFAULT_ADAPT_EPOCHS,
        metadata=option("--adapt-epochs", type=at_least(1), metavar="N", group=ADAPT_GROUP, help="with --adapt-from: epochs"),
    )
    adapt_learning_rate: float = field(
        default=DEFAULT_ADAPT_LEARNING_RATE,
        metadata=option(
            "--adapt-learning-rate",
            type=number(above=0.0, maximum=1.0),
            metavar="RATE",
            group=ADAPT_GROUP,
            help="with --adapt-from: the learning rate (twice training's fine-tuning rate: a few epochs must move the model)",
        ),
    )
    accept_loss: float = field(
        default=DEFAULT_ACCEPT_LOSS,
        metadata=option(
            "--accept-loss",
            type=number(minimum=0.0, maximum=100.0),
            metavar="POINTS",
            group=ADAPT_GROUP,
            help="with --adapt-from: refuse the adapted model (the old one stays) if its accuracy on the datasets' "
            "validation faces is more than this many points below the old model's; 100 also takes one that no "
            "longer judges a size band the old one judged",
        ),
    )
    framing_detector: str = "yunet"
    verbose: bool = True
