#!/usr/bin/env python3
"""Time the full default training run against the naive way, on the bundled dataset.

Ours: train_mask_detector's default run (feature maps below the fine-tuned
blocks computed once for a few augmented views; the head, then the top blocks,
trained on them). Naive: model.fit through the whole network every epoch on
freshly augmented crops, as the classic script does. Each run is a separate
process, so peak memory (max RSS) is its own. The naive run is timed over
--naive-epochs epochs; its full time is that median epoch time times the
default's epochs (head and fine-tuning), plus its own start-up.
"""

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def run_ours(workdir):
    from maskdetect.settings import TrainingSettings
    from maskdetect.training.train import train

    config = TrainingSettings(
        datasets=[str(ROOT / "dataset")],
        model=str(Path(workdir) / "m.model"),
        plot=str(Path(workdir) / "p.png"),
        report=str(Path(workdir) / "r.json"),
        verbose=False,
    )
    started = time.perf_counter()
    report = train(config)
    return {
        "wall_s": time.perf_counter() - started,
        "images": report["images"],
        "accuracy": report["accuracy"],
        "timings": report["timings"],
    }


def run_naive(epochs):
    import keras
    import numpy as np

    from maskdetect.classify.batch import IMAGE_SIZE
    from maskdetect.detect.align import aligned_face
    from maskdetect.detect.detectors import load_face_detector
    from maskdetect.settings import TrainingSettings
    from maskdetect.training.augment import augmented_face
    from maskdetect.training.dataset import load_dataset, mask_classes
    from maskdetect.training.duplicates import duplicate_groups, grouped_split
    from maskdetect.training.model import build_classifier

    config = TrainingSettings()
    started = time.perf_counter()
    dataset = load_dataset(
        [ROOT / "dataset"], load_face_detector(config.framing_detector), verbose=False, classes=mask_classes([ROOT / "dataset"])
    )
    labels = np.asarray(dataset.labels)
    train_idx, val_idx = grouped_split(labels, duplicate_groups(np.asarray(dataset.hashes)), config.val_split, config.seed)
    model = build_classifier(dataset.class_names, config.weights).model
    model.compile(
        optimizer=keras.optimizers.Adam(config.learning_rate), loss="sparse_categorical_crossentropy", metrics=["accuracy"]
    )

    class Augmented(keras.utils.PyDataset):
        def __init__(self, indices, augment):
            super().__init__()
            self.indices, self.augment = indices, augment
            self.rng = np.random.default_rng(0)

        def __len__(self):
            return int(np.ceil(len(self.indices) / config.batch_size))

        def __getitem__(self, batch):
            chosen = self.indices[batch * config.batch_size : (batch + 1) * config.batch_size]
            crops = [
                augmented_face(dataset.images[i], dataset.boxes[i], IMAGE_SIZE, self.rng)
                if self.augment
                else aligned_face(dataset.images[i], dataset.boxes[i], IMAGE_SIZE)
                for i in chosen
            ]
            return np.stack(crops)[..., ::-1].astype("float32"), labels[chosen]

    startup = time.perf_counter() - started
    epoch_times = []
    for _ in range(epochs):
        mark = time.perf_counter()
        model.fit(Augmented(train_idx, True), validation_data=Augmented(val_idx, False), epochs=1, verbose=0)
        epoch_times.append(time.perf_counter() - mark)
    return {"startup_s": startup, "epoch_s": epoch_times}


def child(kind, naive_epochs):
    with tempfile.TemporaryDirectory() as workdir:
        result = run_ours(workdir) if kind == "ours" else run_naive(naive_epochs)
    result["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(result))


def measure(kind, naive_epochs):
    output = subprocess.run(
        [sys.executable, __file__, "--child", kind, "--naive-epochs", str(naive_epochs)],
        stdout=subprocess.PIPE,
        text=True,
        check=True,
    ).stdout
    return json.loads(output.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3, help="full default runs of ours")
    parser.add_argument("--naive-epochs", type=int, default=3, help="epochs of the naive run that are timed")
    parser.add_argument("--child", choices=["ours", "naive"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.naive_epochs)
        return
    ours = [measure("ours", args.naive_epochs) for _ in range(args.repeats)]
    naive = measure("naive", args.naive_epochs)
    from maskdetect.settings import TrainingSettings

    defaults = TrainingSettings()
    epochs = defaults.head_epochs + defaults.fine_tune_epochs
    ours_s = statistics.median(run["wall_s"] for run in ours)
    naive_s = naive["startup_s"] + epochs * statistics.median(naive["epoch_s"])
    summary = {
        "ours_full_run_s": [round(run["wall_s"], 1) for run in ours],
        "ours_median_s": round(ours_s, 1),
        "ours_s_per_1000_images": round(ours_s / ours[0]["images"] * 1000, 1),
        "ours_peak_rss_mib": round(max(run["peak_rss_mib"] for run in ours), 0),
        "ours_val_accuracy": [round(run["accuracy"], 4) for run in ours],
        "ours_phases_last_run": ours[-1]["timings"],
        "naive_epoch_s": [round(t, 1) for t in naive["epoch_s"]],
        f"naive_{epochs}_epochs_s": round(naive_s, 1),
        "naive_peak_rss_mib": round(naive["peak_rss_mib"], 0),
        "speedup": round(naive_s / ours_s, 2),
    }
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
