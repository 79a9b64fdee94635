#!/usr/bin/env bash
# Overhead per job, submit → done, for 200 trivial jobs: xexp's local backend, xexp on Slurm, and bare sbatch (the
# floor Slurm itself sets). Needs a running cluster (scripts/slurm-cluster start) and a built xexp.
#   Benchmarks/slurm/run.sh [path/to/xexp]     (default .build/release/xexp)
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
XEXP="$(realpath "${1:-$ROOT/.build/release/xexp}")"
N=200
WORK="$(mktemp -d /tmp/xexp-slurm-bench.XXXXXX)"
trap 'rm -rf "$WORK"' EXIT
sinfo >/dev/null 2>&1 || { echo "no Slurm controller answers; run scripts/slurm-cluster start" >&2; exit 1; }

python3 - "$N" >"$WORK/trivial.json" <<'PY'
import json, sys
n = int(sys.argv[1])
print(json.dumps({"name": "trivial", "grid": {"i": list(range(1, n + 1))},
                  "stages": [{"name": "t", "command": ["sh", "-c", "echo '{\"i\": {i}}' >> $XEXP_METRICS"]}]}))
PY
now() { date +%s.%N; }
per_job() { python3 -c "import sys; a, b, n = map(float, sys.argv[1:]); print(f'{b - a:.1f} s total, {(b - a) / n * 1000:.0f} ms per job')" "$@"; }

mkdir "$WORK/local" "$WORK/slurm"
cp "$WORK/trivial.json" "$WORK/local/"; cp "$WORK/trivial.json" "$WORK/slurm/"
t0=$(now); (cd "$WORK/local" && "$XEXP" sweep trivial.json >/dev/null 2>&1); t1=$(now)
echo "local backend (--jobs = $(nproc) cores):  $(per_job "$t0" "$t1" "$N")"
t0=$(now); (cd "$WORK/slurm" && "$XEXP" sweep trivial.json --backend slurm >/dev/null 2>&1); t1=$(now)
echo "slurm backend:                     $(per_job "$t0" "$t1" "$N")"
cmp <(cd "$WORK/local" && "$XEXP" export trivial --long) <(cd "$WORK/slurm" && "$XEXP" export trivial --long) \
    && echo "metrics: identical on both backends"
t0=$(now)
for _ in $(seq "$N"); do sbatch -Q --parsable -o /dev/null --wrap true >/dev/null; done
while [ -n "$(squeue -h -u "$(id -un)" -t PD,R,CG)" ]; do sleep 0.1; done
t1=$(now)
echo "bare sbatch --wrap true:           $(per_job "$t0" "$t1" "$N")"
