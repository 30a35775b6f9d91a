#!/usr/bin/env python3
"""A photo archive on one machine against the same archive on Ray, in one run; and what 1 million photos cost.

The archive (made here): the 272 street photos of data/scenes/, the 357 web photos of data/scenes_web/ and
200 dataset close-ups: 829 photos. One machine: the folder code path of detect_mask_image.py
(detect_photos, every core) writing one JSON file. Ray: a local Ray on the same cores, the archive
path of detect_mask_image.py --ray (Ray Data actors, one per core, parts written by the driver).
Each runs --repeats times, alternating; medians reported.

Measured: photos per second; CPU-seconds per photo over the whole machine (/proc/stat, every
process: driver, workers, Ray's raylet and object store); the driver's own CPU per photo (it
gathers and writes every record); Ray's fixed cost (starting Ray, then a first dataset of one
batch: actor start and model load). From those, the cost of 1 million photos on 1, 8 and 64
workers, and which stage bounds it.
"""

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from maskdetect import api
from maskdetect.cluster.archive import ResultsStore, run_archive
from maskdetect.cluster.connect import connect
from maskdetect.io.records import write_json
from maskdetect.photos import detect_photos
from maskdetect.settings import DetectorSettings

SETTINGS = DetectorSettings(
    model=str(ROOT / "maskdetect" / "models" / "mask_detector.model"),
    backend="onnx",
    face_detector="yunet",
    face_detector_dir=str(ROOT / "face_detector"),
)
MILLION = 1_000_000
# The network a worker reads photos over from object storage, for the 1-million table (not measured here).
ASSUMED_STORAGE_MB_S = 100.0


def busy_cpu_seconds():
    """CPU-seconds the whole machine has spent busy (every process), from /proc/stat."""
    fields = [int(value) for value in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = fields[3] + fields[4]
    return (sum(fields[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def make_archive(folder):
    paths = sorted((ROOT / "data" / "scenes" / "images").glob("*.jpg")) + sorted(
        (ROOT / "data" / "scenes_web" / "images").glob("*")
    )
    paths += (
        sorted((ROOT / "dataset" / "without_mask").glob("*"))[:100] + sorted((ROOT / "dataset" / "with_mask").glob("*"))[:100]
    )
    for number, path in enumerate(paths):
        shutil.copy(path, folder / f"{number:04d}_{path.name}")
    return sorted(folder.iterdir())


def measured(run):
    """(wall seconds, machine CPU-seconds, this process's CPU-seconds) of ``run()``."""
    wall, busy, own = time.perf_counter(), busy_cpu_seconds(), time.process_time()
    run()
    return time.perf_counter() - wall, busy_cpu_seconds() - busy, time.process_time() - own


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", default=str(ROOT / "benchmarks" / "results" / "ray.json"))
    args = parser.parse_args()
    cpus = os.cpu_count()
    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        archive = scratch / "archive"
        archive.mkdir()
        photos = make_archive(archive)
        megabytes = sum(path.stat().st_size for path in photos) / 1e6
        detector = api.load_detector(SETTINGS)

        def one_machine():
            results, failures = detect_photos(detector, photos, None)
            assert len(results) == len(photos) and not failures
            write_json([result.as_record() for result in results], scratch / "one_machine.json")

        started = time.perf_counter()
        ray = connect("local", num_cpus=cpus)
        ray_start = time.perf_counter() - started
        first = scratch / "first"
        first.mkdir()
        for path in photos[:16]:
            shutil.copy(path, first / path.name)
        first_dataset = measured(
            lambda: run_archive(ray, str(first), ResultsStore(scratch / "first_results"), SETTINGS, progress=False)
        )[0]
        runs = {"one_machine": [], "ray": []}
        for repeat in range(args.repeats):
            runs["one_machine"].append(measured(one_machine))

            def on_ray(repeat=repeat):
                summary = run_archive(
                    ray, str(archive), ResultsStore(scratch / f"ray_results_{repeat}"), SETTINGS, progress=False
                )
                assert summary.recorded == len(photos) and not summary.unreadable

            runs["ray"].append(measured(on_ray))
            print(
                f"repeat {repeat + 1}: one machine {runs['one_machine'][-1][0]:.1f} s, ray {runs['ray'][-1][0]:.1f} s",
                file=sys.stderr,
            )
        ray.shutdown()

    count = len(photos)
    medians = {name: [statistics.median(run[i] for run in values) for i in range(3)] for name, values in runs.items()}
    one, on_ray = medians["one_machine"], medians["ray"]
    # Ray's runs include starting its actors (about a second each) on every repeat: the fixed cost is taken out
    # of the per-photo figures with the first dataset's time, the run's fixed part.
    ray_steady_wall = max(on_ray[0] - first_dataset, 1e-9)
    results = {
        "photos": count,
        "megabytes": round(megabytes, 1),
        "cpus": cpus,
        "repeats": args.repeats,
        "one_machine": {
            "photos_per_s": round(count / one[0], 1),
            "cpu_s_per_photo": round(one[1] / count, 4),
            "wall_s": round(one[0], 2),
        },
        "ray": {
            "photos_per_s": round(count / on_ray[0], 1),
            "photos_per_s_after_start": round(count / ray_steady_wall, 1),
            "cpu_s_per_photo": round(on_ray[1] / count, 4),
            "driver_cpu_s_per_photo": round(on_ray[2] / count, 5),
            "wall_s": round(on_ray[0], 2),
        },
        "wall_s_of_each_run": {name: [round(run[0], 2) for run in values] for name, values in runs.items()},
        "ray_fixed_cost_s": {"start_local_ray": round(ray_start, 2), "first_dataset_of_16_photos": round(first_dataset, 2)},
    }
    results["ray_vs_one_machine_photos_per_s"] = round(results["ray"]["photos_per_s"] / results["one_machine"]["photos_per_s"], 2)
    overhead = results["ray"]["cpu_s_per_photo"] - results["one_machine"]["cpu_s_per_photo"]
    results["ray_overhead_cpu_ms_per_photo"] = round(1000 * overhead, 2)
    results["million_photos"] = million_table(results, megabytes / count)
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps(results, indent=2) + "\n")
    print(json.dumps(results, indent=2))
    print(markdown(results))


def million_table(results, megabytes_per_photo):
    """Hours for 1 million photos on W one-CPU workers, from this run's per-photo costs: the workers' CPU
    (detection, reading from the local disk, Ray's per-photo work) shared among them; the one driver, which
    gathers and writes every record; and reading from object storage at ASSUMED_STORAGE_MB_S per worker."""
    worker_cpu = results["ray"]["cpu_s_per_photo"] - results["ray"]["driver_cpu_s_per_photo"]
    driver_cpu = results["ray"]["driver_cpu_s_per_photo"]
    fixed = results["ray_fixed_cost_s"]["start_local_ray"] + results["ray_fixed_cost_s"]["first_dataset_of_16_photos"]
    table = []
    for workers in (1, 8, 64):
        stages = {
            "detection": MILLION * worker_cpu / workers,
            "writing": MILLION * driver_cpu,
            "reading": MILLION * megabytes_per_photo / (ASSUMED_STORAGE_MB_S * workers),
        }
        bound = max(stages, key=stages.get)
        table.append(
            {
                "workers": workers,
                "hours": round((stages[bound] + fixed) / 3600, 2),
                "bounded_by": bound,
                **{f"{name}_hours": round(seconds / 3600, 2) for name, seconds in stages.items()},
            }
        )
    return table


def markdown(results):
    lines = [
        "| run | photos/s | CPU-s per photo |",
        "|---|---|---|",
        f"| one machine | {results['one_machine']['photos_per_s']} | {results['one_machine']['cpu_s_per_photo']} |",
        f"| Ray, local | {results['ray']['photos_per_s']} ({results['ray']['photos_per_s_after_start']} after start) "
        f"| {results['ray']['cpu_s_per_photo']} (driver {results['ray']['driver_cpu_s_per_photo']}) |",
        "",
        "| workers | hours | bounded by | detection h | writing h | reading h |",
        "|---|---|---|---|---|---|",
    ]
    for row in results["million_photos"]:
        lines.append(
            f"| {row['workers']} | {row['hours']} | {row['bounded_by']} | {row['detection_hours']} "
            f"| {row['writing_hours']} | {row['reading_hours']} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
