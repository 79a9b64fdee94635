#!/usr/bin/env bash
# Where xexp's per-job time goes, without changing xexp: rerun the 2,000-job sweep with
#   - RLIMIT_NOFILE lowered to 1024 (the shepherd's close_from loop issues one close() per possible fd), and/or
#   - eatmydata (LD_PRELOAD that turns fsync/fdatasync into no-ops: job.json's atomic write, SQLite checkpoints).
# Needs a release build at .build-bench (run.sh makes it) and `apt-get install eatmydata`.
# Usage: Benchmarks/orchestration/ablate.sh [reps=2] [n=1000]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
xexp="$(cd "$here/../.." && pwd)/.build-bench/release/xexp"
reps="${1:-2}"; n="${2:-1000}"
scratch="$(mktemp -d /tmp/xexp-ablate-XXXXXX)"
python3 -c "import sys; sys.path.insert(0, '$here'); import bench; bench.write_spec('$scratch/bench.json', $n)"
run() { # label, nofile, prefix...
  local label="$1" nofile="$2"; shift 2
  for r in $(seq "$reps"); do
    rm -rf "$scratch/store"
    local t0 t1
    t0=$(date +%s.%N)
    ( ulimit -n "$nofile"; "$@" "$xexp" sweep "$scratch/bench.json" --db "$scratch/store/x.sqlite" --jobs 2 >/dev/null 2>&1 )
    t1=$(date +%s.%N)
    python3 -c "t=$t1-$t0; print(f'{\"$label\":<34} rep $r: {t:7.2f} s  {1000*t/(2*$n):6.2f} ms/job   load {open(\"/proc/loadavg\").read().split()[0]}')"
  done
}
echo "uptime: $(uptime)"
run "baseline (nofile $(ulimit -n))" "$(ulimit -n)"
run "nofile 1024"                    1024
run "eatmydata (no fsync)"           "$(ulimit -n)" eatmydata
run "nofile 1024 + eatmydata"        1024 eatmydata
echo "uptime: $(uptime)"
rm -rf "$scratch"
