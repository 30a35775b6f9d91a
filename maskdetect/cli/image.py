"""Find every face in photos and say who wears a mask."""

import json
import sys
from pathlib import Path

from maskdetect.bundled import EXAMPLES
from maskdetect.classify.backends import resolve_model
from maskdetect.cli.common import (
    add_detection_options,
    apply_verbosity,
    at_least,
    detector_from_args,
    detector_settings,
    has_display,
    logger,
    new_parser,
    run_main,
)
from maskdetect.cli.status import EXIT_OK, EXIT_SOME_INPUTS_FAILED
from maskdetect.cluster import DEFAULT_PART_SIZE, FORMATS
from maskdetect.detect.detectors import PHOTO_UPSCALE, YUNET_MAX_SIDE
from maskdetect.errors import InputError
from maskdetect.io.images import DEFAULT_MAX_PIXELS, expand_inputs, limit_pixels
from maskdetect.io.outputs import (
    check_distinct,
    check_file_output,
    check_image_outputs,
    file_outputs,
    is_stdout,
    output_paths,
)
from maskdetect.photos import check_photos
from maskdetect.pipeline import FACE_FINDING_THREADS

EXAMPLES_TEXT = """
    mask-detect-image                                   the example photos -> output/
    mask-detect-image -i photos/ -o annotated/ --json faces.json
    mask-detect-image -i party.jpg -o party_checked.jpg --min-face-size 0
    mask-detect-image -i crops/ --whole-image --json -  face crops, JSON on stdout
    mask-detect-image -i photos/ --backend litert       LiteRT instead of ONNX Runtime
    mask-detect-image -i archive/ --ray --results results/        an archive on a local Ray (docs/cluster.md)
    mask-detect-image -i s3://bucket/photos --ray auto --results s3://bucket/results --format parquet
"""


def parse_args(argv=None):
    parser = new_parser("mask-detect-image", __doc__, EXAMPLES_TEXT)
    parser.add_argument(
        "-i", "--image", nargs="+", default=[str(EXAMPLES)],
        help="image files and/or folders of images (default: the example photos shipped with the package)",
    )
    add_detection_options(parser, YUNET_MAX_SIDE, PHOTO_UPSCALE)
    parser.add_argument(
        "-o", "--output", help="file (one input) or folder for annotated copies (default: output; with --ray, "
        "no copies unless given: a folder or URI)",
    )
    parser.add_argument("--json", metavar="PATH", help="write results as JSON to PATH, or '-' for stdout")
    parser.add_argument("--whole-image", action="store_true", help="no face detection: each image is one face")
    parser.add_argument("--show", action="store_true", help="show each annotated image in a window")
    parser.add_argument(
        "--max-pixels", type=at_least(1), default=DEFAULT_MAX_PIXELS,
        help="refuse (skip, with one line) any image above this many pixels, told from its header before it is "
        "decoded: a small file can hold a huge image",
    )
    cluster = parser.add_argument_group("a photo archive on a Ray cluster (pip install 'maskdetect[ray]')")
    cluster.add_argument(
        "--ray", nargs="?", const="local", metavar="ADDRESS",
        help="run on Ray: alone or 'local' starts a local Ray, 'auto' finds a running one, HOST:PORT joins one; "
        "-i is then one folder, bucket prefix (s3://...) or listing file (one path a line)",
    )
    cluster.add_argument("--results", metavar="DIR", help="with --ray: the folder or URI the records go to, in parts")
    cluster.add_argument("--format", choices=FORMATS, default="jsonl", help="with --ray: the records' file format")
    cluster.add_argument(
        "--checkpoint", metavar="DIR", help="with --ray: where the committed parts are noted (default: RESULTS/_checkpoint)",
    )
    cluster.add_argument("--part-size", type=at_least(1), default=DEFAULT_PART_SIZE, help="with --ray: records per part file")
    cluster.add_argument("--workers", type=at_least(1), help="with --ray: detector actors (default: one per CPU of the cluster)")
    args = parser.parse_args(argv)
    if args.ray is None:
        for name in ("results", "checkpoint", "workers"):
            if getattr(args, name) is not None:
                parser.error(f"--{name} needs --ray")
        for name, default in (("format", "jsonl"), ("part_size", DEFAULT_PART_SIZE)):
            if getattr(args, name) != default:
                parser.error(f"--{name.replace('_', '-')} needs --ray")
    return args


def main(argv=None):
    args = parse_args(argv)
    apply_verbosity(args)
    if args.show and not has_display():
        raise InputError("cannot open a window here (no display); run without --show")
    limit_pixels(args.max_pixels)
    if args.ray is not None:
        return run_on_ray(args)
    args.output = args.output or "output"
    paths, problems = expand_inputs(args.image)
    for problem in problems:
        logger.error("%s", problem)
    targets, folder = output_paths(paths, args.output)
    check_image_outputs(targets, folder, inputs=paths)
    if file_outputs(args.json):
        check_file_output(args.json, inputs=paths, kind="json")
    check_distinct([*dict.fromkeys(targets), *file_outputs(args.json)])

    from maskdetect.io.records import write_json

    detector = detector_from_args(args, face_detector_threads=FACE_FINDING_THREADS, whole_image=args.whole_image)
    results, failures = check_photos(detector, paths, targets, args.show, progress=not args.quiet)
    failures = problems + failures
    records = [result.as_record() for result in results]
    if is_stdout(args.json):
        json.dump(records, sys.stdout, indent=2)
        print(flush=True)
    else:
        for result in results:
            print(result.summary())
        if detector.rejected_boxes:
            print(f"boxes dropped as no face: {detector.rejected_boxes}")
        if args.json:
            write_json(records, args.json)
    if failures:
        logger.error("%d input(s) failed", len(failures))
    elif not results:
        logger.error("no images found in %s", " ".join(args.image))
    return EXIT_SOME_INPUTS_FAILED if failures or not results else EXIT_OK


def run_on_ray(args):
    """The archive run: every photo of one folder, bucket or listing to exactly one record under --results."""
    from maskdetect.cluster.connect import connect, import_ray

    import_ray()
    from maskdetect.cluster.archive import ResultsStore, run_archive
    from maskdetect.cluster.storage import check_folder_output

    if not args.results:
        raise InputError("--ray needs --results DIR: the folder or URI the records go to")
    if len(args.image) != 1:
        raise InputError("with --ray, -i is one folder, bucket prefix or listing file")
    if args.json or args.show:
        raise InputError("with --ray the records go to --results: --json and --show are for runs on one machine")
    settings = detector_settings(args, whole_image=args.whole_image)
    settings.update(model=_absolute(settings["model"]), face_detector_dir=_absolute(settings["face_detector_dir"]))
    _, model_file = resolve_model(settings["model"], settings["backend"])
    if not Path(model_file).exists():
        raise InputError(f"no model at {model_file} (every node reads the model at this path)")
    try:
        store = ResultsStore(args.results, args.checkpoint, args.format)
        annotated = args.output and _absolute(args.output)
        store.check(owned_folders=_inside(annotated, store))
        if annotated:
            check_folder_output(annotated, "annotated copies")
            if _is_inside(annotated, _absolute(args.image[0])):
                raise InputError(f"refusing to write annotated copies into {args.output}: it is inside the archive")
        ray = connect(args.ray, verbose=args.verbose)
        summary = run_archive(ray, args.image[0], store, settings, annotated, args.part_size, args.workers,
                              progress=not args.quiet, max_pixels=args.max_pixels)
    except OSError as error:
        # pyarrow's filesystems: a permission, a credential or a network failure of the storage.
        raise InputError(f"storage: {str(error).splitlines()[0]}") from None
    print(summary.text(args.results))
    return EXIT_SOME_INPUTS_FAILED if summary.unreadable else EXIT_OK


def _absolute(location):
    """A local path made absolute (the workers run in other folders); a URI as it is."""
    from maskdetect.cluster.storage import is_uri

    return location if is_uri(location) else str(Path(location).resolve())


def _is_inside(location, archive):
    """True when ``location`` is the archive's folder or inside it."""
    return location == archive or location.startswith(archive.rstrip("/") + "/")


def _inside(folder, store):
    """The name of ``folder`` when it is directly inside the results folder (it is then the run's own)."""
    if folder and Path(folder).parent == Path(store.root) and store.filesystem.type_name == "local":
        return [Path(folder).name]
    return []


def run():
    """The console script: run main() with the command line; returns the exit status."""
    return run_main(main)
