#!/usr/bin/env python3
"""Orchestration overhead per job: xexp vs Snakemake on the same 2,000-job DAG of `true` commands.

Stage `a` (N jobs) and stage `b` (N jobs, b_i after a_i), N = 1000 by default. Every measurement runs
--reps times on fresh state and the median wall time is reported. See README.md.
"""
import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def sh(cmd, cwd=None, env=None, check=True, quiet=True):
    """Runs cmd, returns (wall seconds, CompletedProcess); CPU seconds (user+sys of cmd and every descendant it
    waited for) go to sh.cpu."""
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    p = subprocess.run(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE if quiet else None,
                       stderr=subprocess.PIPE if quiet else None, text=True)
    dt = time.perf_counter() - t0
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    sh.cpu = (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime)
    if check and p.returncode != 0:
        sys.stderr.write(f"FAILED ({p.returncode}): {' '.join(cmd)}\n")
        if quiet:
            sys.stderr.write((p.stdout or "")[-3000:] + (p.stderr or "")[-3000:] + "\n")
        raise SystemExit(1)
    return dt, p


def write_spec(path, n):
    spec = {
        "name": "orchestration-bench",
        "description": f"{2 * n} jobs of `true`: stage a over {n} values, stage b after a.",
        "grid": {"i": list(range(n))},
        "stages": [
            {"name": "a", "command": ["true", "{i}"]},
            {"name": "b", "after": ["a"], "command": ["true", "{i}"]},
        ],
    }
    with open(path, "w") as f:
        json.dump(spec, f, indent=1)


def write_snakefile(path, n):
    # One wildcard rule per stage gives 2*n job instances, a_{i} and b_{i} (b_i needs a_i's output), plus
    # Snakemake's target rule `all`. Snakemake needs files to track jobs, so each job also touches its output.
    with open(path, "w") as f:
        f.write(f"""N = {n}

localrules: all

rule all:
    input: expand("out/b_{{i}}", i=range(N))

rule a:
    output: "out/a_{{i}}"
    shell: "true {{wildcards.i}} && touch {{output}}"

rule b:
    input: "out/a_{{i}}"
    output: "out/b_{{i}}"
    shell: "true {{wildcards.i}} && touch {{output}}"
""")


def median(xs):
    return statistics.median(xs)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--xexp", required=True, help="path to the release xexp binary")
    ap.add_argument("--snakemake", default="/tmp/snakevenv/bin/snakemake")
    ap.add_argument("--n", type=int, default=1000, help="grid values (jobs = 2n)")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--skip-snakemake", action="store_true")
    ap.add_argument("--keep", action="store_true", help="keep the scratch directory")
    ap.add_argument("--json", help="also write the raw timings here")
    args = ap.parse_args()
    args.xexp = os.path.abspath(args.xexp)

    jobs = 2 * args.n
    scratch = tempfile.mkdtemp(prefix="xexp-orch-bench-")
    env = dict(os.environ)
    env.pop("XEXP_DB", None)
    results = {}  # label -> list of seconds

    cpu = {}  # label -> list of CPU seconds

    def record(label, dt):
        results.setdefault(label, []).append(dt)
        cpu.setdefault(label, []).append(sh.cpu)
        print(f"  {label:<22} rep {len(results[label])}: {dt:8.3f} s wall, {sh.cpu:7.3f} s CPU"
              f"   load {open('/proc/loadavg').read().split()[0]}", flush=True)

    print(f"scratch: {scratch}; {jobs} jobs; --jobs {args.jobs}; {args.reps} reps", flush=True)
    print(f"load before: {open('/proc/loadavg').read().strip()}", flush=True)

    # --- xexp ---
    for rep in range(args.reps):
        d = os.path.join(scratch, f"xexp-{rep}")
        os.makedirs(d)
        spec = os.path.join(d, "bench.json")
        write_spec(spec, args.n)
        db = os.path.join(d, "store", "x.sqlite")
        base = [args.xexp, "sweep", spec, "--db", db]
        # dry run on an absent store: parse, expand, hash, print the plan; never creates the store
        dt, _ = sh(base + ["--dry-run"], cwd=d, env=env)
        record("xexp dry-run", dt)
        dt, p = sh(base + ["--jobs", str(args.jobs)], cwd=d, env=env)
        if f"{jobs} jobs — {jobs} ran" not in p.stdout:
            print("unexpected xexp output:\n" + p.stdout + p.stderr)
            raise SystemExit(1)
        record("xexp run", dt)
        dt, p = sh(base + ["--jobs", str(args.jobs)], cwd=d, env=env)
        if f"{jobs} reused" not in p.stdout:
            print("unexpected xexp resume output:\n" + p.stdout + p.stderr)
            raise SystemExit(1)
        record("xexp resume", dt)
        dt, _ = sh(base + ["--dry-run"], cwd=d, env=env)
        record("xexp dry-run (store)", dt)
        if not args.keep:
            shutil.rmtree(d)

    # --- Snakemake ---
    if not args.skip_snakemake:
        _, p = sh([args.snakemake, "--version"])
        results["_snakemake_version"] = p.stdout.strip()
        for rep in range(args.reps):
            d = os.path.join(scratch, f"snake-{rep}")
            os.makedirs(d)
            write_snakefile(os.path.join(d, "Snakefile"), args.n)
            sm = [args.snakemake, "--cores", str(args.jobs), "--quiet", "all"]
            dt, _ = sh(sm + ["--dry-run"], cwd=d, env=env)
            record("snakemake dry-run", dt)
            dt, _ = sh(sm, cwd=d, env=env)
            n_out = len(os.listdir(os.path.join(d, "out")))
            if n_out != jobs:
                print(f"snakemake produced {n_out} outputs, expected {jobs}")
                raise SystemExit(1)
            record("snakemake run", dt)
            dt, _ = sh(sm, cwd=d, env=env)
            record("snakemake resume", dt)
            if not args.keep:
                shutil.rmtree(d)

    print(f"load after: {open('/proc/loadavg').read().strip()}", flush=True)

    # --- table ---
    med = {k: median(v) for k, v in results.items() if not k.startswith("_")}
    pairs = [("run", "xexp run", "snakemake run"), ("resume", "xexp resume", "snakemake resume"),
             ("dry-run", "xexp dry-run", "snakemake dry-run")]
    print()
    print(f"{jobs} jobs (`true`), --jobs/--cores {args.jobs}, median of {args.reps}")
    print(f"{'tool / mode':<24}{'wall s':>10}{'ms/job':>10}{'vs xexp':>10}{'CPU ms/job':>12}{'vs xexp':>9}   wall of each rep (s)")
    for mode, xk, sk in pairs:
        for k in (xk, sk):
            if k not in med:
                continue
            ratio = med[k] / med[xk]
            reps = " ".join(f"{x:.2f}" for x in results[k])
            c, cx = median(cpu[k]), median(cpu[xk])
            print(f"{k:<24}{med[k]:>10.3f}{1000 * med[k] / jobs:>10.2f}{ratio:>9.1f}x{1000 * c / jobs:>12.2f}{c / cx:>8.1f}x   {reps}")
    if "xexp dry-run (store)" in med:
        k = "xexp dry-run (store)"
        print(f"{k:<24}{med[k]:>10.3f}{1000 * med[k] / jobs:>10.2f}{'':>10}{1000 * median(cpu[k]) / jobs:>12.2f}{'':>9}   "
              + " ".join(f"{x:.2f}" for x in results[k]))
    if "_snakemake_version" in results:
        print(f"snakemake {results['_snakemake_version']}")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"jobs": jobs, "slots": args.jobs, "wall": results, "cpu": cpu, "median": med}, f, indent=1)
    if not args.keep:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
