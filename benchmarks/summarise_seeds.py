#!/usr/bin/env python3
"""The spread over seeds of bench_seeds.py's results, as Markdown: per recipe, each measure's mean and range."""

import argparse
import json
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent

MEASURES = {
    "validation": lambda r: r["validation"]["accuracy"],
    "validation with_mask": lambda r: r["validation"]["recall"]["with_mask"],
    "validation without_mask": lambda r: r["validation"]["recall"]["without_mask"],
    "degraded with_mask": lambda r: r["validation"]["degraded_recall"]["with_mask"],
    "degraded without_mask": lambda r: r["validation"]["degraded_recall"]["without_mask"],
    "web with_mask (all found)": lambda r: r["scenes_web"]["with_mask"]["accuracy_all_found"],
    "web without_mask (all found)": lambda r: r["scenes_web"]["without_mask"]["accuracy_all_found"],
    "web without_mask 40-80": lambda r: r["scenes_web"]["without_mask"]["by_band"]["40-80"]["accuracy_all_found"],
    "web incorrect, found and right": lambda r: r["scenes_web"].get("mask_weared_incorrect", {}).get("end_to_end"),
    "streets with_mask 24-40": lambda r: r["scenes"]["with_mask"]["by_band"]["24-40"]["accuracy_all_found"],
    "streets without_mask 24-40": lambda r: r["scenes"]["without_mask"]["by_band"]["24-40"]["accuracy_all_found"],
    "streets without_mask 40-80": lambda r: r["scenes"]["without_mask"]["by_band"]["40-80"]["accuracy_all_found"],
    "hard: webcam with_mask": lambda r: r["hard_cases"].get("webcam/with_mask"),
    "hard: small crowd without_mask": lambda r: r["hard_cases"].get("small_crowd_face/without_mask"),
    "turned 90, found faces": lambda r: r["validation"]["rotated_90"]["accuracy_found"],
}


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("results", nargs="?", default=str(ROOT / "benchmarks" / "results" / "seeds.json"))
    args = parser.parse_args()
    results = json.loads(Path(args.results).read_text())
    recipes = {}
    for result in results:
        recipe = result["model"].split(" seed ")[0] + ", " + result["model"].split(", ", 1)[1]
        recipes.setdefault(recipe, []).append(result)
    names = list(recipes)
    print("| measure | " + " | ".join(f"{name} ({len(recipes[name])} seeds)" for name in names) + " |")
    print("|---|" + "---|" * len(names))
    for measure, get in MEASURES.items():
        cells = []
        for name in names:
            values = [get(r) for r in recipes[name]]
            values = [v for v in values if v is not None]
            cells.append(f"{np.mean(values):.3f} ({min(values):.3f}-{max(values):.3f})" if values else "")
        print(f"| {measure} | " + " | ".join(cells) + " |")
    disagreement(args.results)


def disagreement(results_path):
    """Per recipe and check set: the faces whose label differs between two seeds' models (mean over pairs)."""
    from itertools import combinations

    results = json.loads(Path(results_path).read_text())
    recipes = {}
    for result in results:
        recipe = result["model"].split(" seed ")[0] + ", " + result["model"].split(", ", 1)[1]
        recipes.setdefault(recipe, []).append(np.load(result["probabilities"]))
    sets = ["validation", "degraded", "scenes", "scenes_web", "hard"]
    print("\n| faces labelled differently by two seeds | " + " | ".join(sets) + " |")
    print("|---|" + "---|" * len(sets))
    for recipe, dumps in recipes.items():
        cells = []
        for name in sets:
            pairs = [(a[name].argmax(1) != b[name].argmax(1)) for a, b in combinations(dumps, 2)]
            cells.append(f"{np.mean([p.sum() for p in pairs]):.1f} of {len(pairs[0])}" if pairs else "")
        print(f"| {recipe} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
