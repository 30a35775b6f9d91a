#!/usr/bin/env bash
# Speed of two trees of the toolkit, in one run: the cold photo, the folder and the video benchmarks, each as
# it is in its own tree, the "before" tree first, with one Python. What each prints (its figures, as JSON) goes to OUT.
#
#   git worktree add /tmp/before <commit>
#   bash benchmarks/before_after.sh /tmp/before . /tmp/speed
set -euo pipefail
before=$(cd "$1" && pwd); after=$(cd "$2" && pwd); out=$3
python=${PYTHON:-$after/.venv/bin/python}
mkdir -p "$out"
for bench in "bench_image --repeats 20 --cold-repeats 5" "bench_folder --repeats 2" "bench_video --frames 200 --classic-frames 50"; do
    name=${bench%% *}
    for tree in before after; do
        dir=$before; [ "$tree" = after ] && dir=$after
        echo "$(date +%T) $name, $tree" >&2
        (cd "$dir" && "$python" benchmarks/$bench > "$out/${name}_$tree.txt")
    done
done
