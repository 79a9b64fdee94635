#!/usr/bin/env bash
# Orchestration overhead per job: xexp vs Snakemake on a 2,000-job DAG of `true`. See README.md.
# Usage: Benchmarks/orchestration/run.sh [--reps 3] [--n 1000] [--jobs 2] [--skip-snakemake] [--json out.json]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
venv="${SNAKEMAKE_VENV:-/tmp/snakevenv}"

# Release build in its own scratch path (never the default .build).
echo "building xexp (release, --scratch-path .build-bench)..." >&2
(cd "$repo" && swift build -c release --product xexp --scratch-path .build-bench >&2)
xexp="$repo/.build-bench/release/xexp"

# Snakemake in a virtualenv outside the repo.
if [ ! -x "$venv/bin/snakemake" ]; then
  echo "installing snakemake into $venv..." >&2
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q snakemake >&2
fi

echo "uptime: $(uptime)"
python3 "$here/bench.py" --xexp "$xexp" --snakemake "$venv/bin/snakemake" "$@"
echo "uptime: $(uptime)"
