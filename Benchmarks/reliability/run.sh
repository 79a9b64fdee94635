#!/usr/bin/env bash
# Reliability probe: SIGKILL a sweep at random instants, resume it each time, and check that nothing was lost,
# nothing ran twice after it was recorded done, no job process outlived the kill, and the final table equals an
# uninterrupted run's. Also: SIGINT at random instants must exit 130 (or 0 when it came too late to matter) and leave
# a resumable store. Not a test (it takes minutes); run it after changing the scheduler, the store or the launcher.
#
#   Benchmarks/reliability/run.sh [KILLS] [INTERRUPTS]      (defaults 30 and 10)
#
# Prints one line per cycle and a summary; exits 1 if any check failed.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
KILLS="${1:-30}"
INTERRUPTS="${2:-10}"
XEXP="$ROOT/.build/release/xexp"
[ -x "$XEXP" ] || { echo "build first: swift build -c release --product xexp" >&2; exit 2; }
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

# 24 jobs of 0.2-0.6 s in two stages; each job appends its start to starts.log and its pid to pids.log, and writes a
# metric computed from its parameters (so a table is reproducible).
cat > "$WORK/probe.json" <<'SPEC'
{"name": "probe", "grid": {"i": [1, 2, 3, 4, 5, 6]}, "seeds": [0, 1],
 "stages": [{"name": "a", "command": ["sh", "-c", "echo a-{i}-{seed} >> starts.log; echo $$ >> pids.log; sleep 0.$(( ({i} + {seed}) % 4 + 2 )); echo '{\"v\": '$(( {i} * 10 + {seed} ))'}' >> $XEXP_METRICS"]},
            {"name": "b", "after": ["a"], "command": ["sh", "-c", "echo b-{i}-{seed} >> starts.log; echo $$ >> pids.log; sleep 0.3; echo '{\"w\": '$(( {i} * 100 + {seed} ))'}' >> $XEXP_METRICS"]}]}
SPEC

failures=0
check() { if ! eval "$1"; then echo "  FAILED: $2"; failures=$((failures + 1)); fi; }

# The reference: one uninterrupted run.
mkdir "$WORK/ref" && cp "$WORK/probe.json" "$WORK/ref/"
(cd "$WORK/ref" && "$XEXP" sweep probe.json --jobs 3 >/dev/null 2>&1)
REFERENCE="$(cd "$WORK/ref" && "$XEXP" table probe --format csv)"

mkdir "$WORK/kill" && cp "$WORK/probe.json" "$WORK/kill/"
cd "$WORK/kill"
# A random instant between 0.1 and 2.6 s after start (the probe sweep takes about 3 s uninterrupted on 2 cores).
instant() { awk -v r="$RANDOM" 'BEGIN { printf "%.2f", 0.1 + (r % 250) / 100 }'; }
# A process counts as alive unless it is gone or a zombie (a container's init may be slow to reap orphans).
alive() { local state; state="$(awk '/^State:/ { print $2 }' "/proc/$1/status" 2>/dev/null)"; [ -n "$state" ] && [ "$state" != Z ] && [ "$state" != X ]; }
# Each cycle on a fresh store: kill, check for survivors, resume to the end, check that nothing recorded done before
# the kill ran again and that the table is the uninterrupted run's.
for k in $(seq 1 "$KILLS"); do
    rm -rf Results starts.log pids.log
    touch starts.log pids.log
    "$XEXP" sweep probe.json --jobs 3 >/dev/null 2>&1 &
    pid=$!
    sleep "$(instant)"
    kill -9 "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    sleep 0.6
    survivors=0
    for p in $(cat pids.log); do alive "$p" && survivors=$((survivors + 1)); done
    check "[ $survivors -eq 0 ]" "cycle $k: $survivors job process(es) survived SIGKILL of xexp"
    # Jobs recorded done before the kill, as their start lines name them (a-I-SEED, b-I-SEED), from the long export.
    "$XEXP" export probe --long 2>/dev/null | tail -n +2 | tr -d '\r' | awk -F, '{ split($3, m, "."); print m[1] "-" $1 "-" $2 }' | sort -u > done.txt || true
    starts_before=$(wc -l < starts.log)
    "$XEXP" sweep probe.json --jobs 3 >/dev/null 2>&1
    tail -n +"$((starts_before + 1))" starts.log | sort -u > rerun.txt
    twice=$(comm -12 done.txt rerun.txt | wc -l)
    check "[ $twice -eq 0 ]" "cycle $k: $twice job(s) recorded done before the kill ran again"
    check '[ "$("$XEXP" table probe --format csv)" = "$REFERENCE" ]' "cycle $k: the resumed table differs from an uninterrupted run's"
    echo "kill $k: $starts_before job start(s) before the kill, $(wc -l < starts.log) in all"
done

mkdir "$WORK/int" && cp "$WORK/probe.json" "$WORK/int/"
cd "$WORK/int"
# Interrupts from 40 ms on: a script's background process inherits SIGINT ignored (POSIX), so one that arrives before
# xexp installs its handler (~35 ms after exec here) is lost by the shell's doing, not xexp's.
early() { awk -v r="$RANDOM" 'BEGIN { printf "%.3f", 0.04 + (r % 100) / 100 }'; }
for k in $(seq 1 "$INTERRUPTS"); do
    rm -rf Results  # each interrupt on a fresh store, so there is always work left to interrupt
    "$XEXP" sweep probe.json --jobs 3 >/dev/null 2>&1 &
    pid=$!
    sleep "$(early)"
    kill -INT "$pid" 2>/dev/null || true
    set +e; wait "$pid"; status=$?; set -e
    check "[ $status -eq 130 ]" "interrupt $k: exit status $status (expected 130: the sweep takes ~3 s, so every interrupt comes before its end)"
    echo "interrupt $k: exit $status"
done
"$XEXP" sweep probe.json --jobs 3 >/dev/null 2>&1
check '[ "$("$XEXP" table probe --format csv)" = "$REFERENCE" ]' "after the last interrupt, the resumed table differs from an uninterrupted run's"

echo "$KILLS kills, $INTERRUPTS interrupts: $failures failed check(s) ($(uname -n), $(nproc) cores, load $(cut -d' ' -f1 /proc/loadavg))"
[ "$failures" -eq 0 ]
