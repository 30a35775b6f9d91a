"""``python -m maskdetect COMMAND [options]``: every command of the toolkit behind one entry point."""

import sys

from maskdetect import __version__

COMMANDS = {
    "train": ("maskdetect.cli.train", "train the mask classifier (mask-train)"),
    "image": ("maskdetect.cli.image", "check photos (mask-detect-image)"),
    "video": ("maskdetect.cli.video", "watch a webcam, a video file or a stream (mask-detect-video)"),
    "evaluate": ("maskdetect.cli.evaluate", "measure a model on photos with PASCAL VOC annotations"),
    "face-check": ("maskdetect.cli.face_check", "measure a model on folders of hard cases"),
    "export": ("maskdetect.cli.export", "export a Keras model to ONNX and LiteRT"),
    "label": ("maskdetect.cli.label", "sort collected faces into class folders on a page, or via Label Studio"),
    "label-review": ("maskdetect.cli.label_review", "list training labels a cross-validated model contradicts"),
    "health": ("maskdetect.cli.health", "is a video run alive? (its --heartbeat file; for health checks)"),
}


def usage():
    lines = [f"usage: python -m maskdetect COMMAND [options]   (maskdetect {__version__})", "", "commands:"]
    lines += [f"  {name:<13} {summary}" for name, (_, summary) in COMMANDS.items()]
    lines += ["", "python -m maskdetect COMMAND --help shows a command's options."]
    return "\n".join(lines)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0] in ("-h", "--help"):
        print(usage())
        return 0 if argv else 2
    if argv[0] == "--version":
        print(f"maskdetect {__version__}")
        return 0
    if argv[0] not in COMMANDS:
        print(f"error: unknown command {argv[0]!r}\n\n{usage()}", file=sys.stderr)
        return 2
    from importlib import import_module

    from maskdetect.cli.common import run_main

    module = import_module(COMMANDS[argv[0]][0])
    return run_main(lambda: module.main(argv[1:]))


if __name__ == "__main__":
    sys.exit(main())
