#!/usr/bin/python3
"""A/B of the GEMM backends on whole training steps: OpenBLAS vs Tessera's own sgemm (issue 4).

Which GEMM runs a step is chosen per process by TESSERA_GEMM (codegen/runtime/GemmRunner.h; unset:
Tessera's sgemm on AVX2 + FMA hosts; this script always sets it). This
script trains the same zoo GPT with each backend in turn, alternating them over --rounds rounds
(the order flips every round, so a slow drift of the shared host's load hits both alike), and
prints per round the median step time of each (steps after the first, which compiles) and their
ratio, then the medians over the rounds. Next to wall time it prints each run's CPU seconds
(user + system of the whole process, compilation and start-up included): on a host shared with
builds, wall time counts other processes' time slices, CPU time does not.

With --gemm-table it also lists the step's GEMMs (one short TESSERA_PROFILE=1 run: shapes,
transposes, batch counts and how often each runs per step, as the engine executes them) and times
each with bench/kernel_bench --gemm: OpenBLAS and the own sgemm, split over Tessera's 2 threads
and on 1 thread, in wall and CPU time, as % of the FMA peak.

Usage (from the repository root):
  /usr/bin/python3 bench/gemm_ab.py --tessera build/tessera --kernel-bench build/bench/kernel_bench \\
      [--configs gpt-small,gpt-base] [--rounds 5] [--gemm-table]
Environment: OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE are removed; TESSERA_GEMM is set per run.
"""
import argparse
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time

from gpt_bench import step_gemms  # the profile's "GEMMs by shape" table, parsed once

CONFIGS = {
    "gpt-small": dict(layers=4, hidden=256, heads=4, seq=128, batch=8, vocab=256, steps=12),
    "gpt-base": dict(layers=12, hidden=768, heads=12, seq=256, batch=4, vocab=512, steps=5),
}
BACKENDS = ("openblas", "tessera")



def base_env():
    env = dict(os.environ)
    for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "TESSERA_PROFILE", "TESSERA_GEMM"):
        env.pop(k, None)
    return env


def write_model(tessera, cfg, path):
    subprocess.run([tessera, "zoo", "gpt", "--layers=%d" % cfg["layers"],
                    "--hidden=%d" % cfg["hidden"], "--heads=%d" % cfg["heads"],
                    "--seq=%d" % cfg["seq"], "--vocab=%d" % cfg["vocab"], "-o", path], check=True)


def train(tessera, model, cfg, backend, steps, extra, profile=False):
    """(median step seconds after the first, CPU seconds of the process, losses) or the
    profile's stderr."""
    with tempfile.TemporaryDirectory() as d:
        log = os.path.join(d, "log.jsonl")
        cmd = [tessera, "train", model, "--steps", str(steps), "--batch", str(cfg["batch"]),
               "--seq", str(cfg["seq"]), "--optimizer", "adamw", "--lr", "1e-3",
               "--log-json", log, "--quiet"] + extra
        env = base_env()
        env["TESSERA_GEMM"] = backend
        if profile:
            env["TESSERA_PROFILE"] = "1"
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        proc = subprocess.run(cmd, check=True, env=env, stderr=subprocess.PIPE, text=True)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        if profile:
            return proc.stderr
        sys.stderr.write(proc.stderr)
        with open(log) as f:
            recs = [json.loads(line) for line in f if line.strip()]
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    times = [r["step_time_s"] for r in recs]
    return statistics.median(times[1:]), cpu, [r["loss"] for r in recs]


def gemm_table(kernel_bench, gemms, threads, reps, stat):
    specs = ["%dx%dx%dx%d%s%s" % (b, m, n, k, ":AT" if ta else "", ":BT" if tb else "")
             for (_, b, m, n, k, ta, tb) in gemms]
    out = subprocess.run([kernel_bench, "--gemm", ",".join(specs), "--threads", str(threads),
                          "--reps", str(reps), "--stat", stat], check=True, capture_output=True, text=True,
                         env=base_env()).stdout
    print(out.splitlines()[0])
    cols = ("split-openblas", "split-own", "1t-openblas", "1t-own")
    print("| per step | shape (b x m x n x k) | " +
          " | ".join("%s wall / cpu %%peak" % c for c in cols) + " |")
    print("|---|---|" + "---|" * len(cols))
    for spec, g, line in zip(specs, gemms, [l for l in out.splitlines() if l.startswith("gemm ")]):
        cells = []
        for c in cols:
            mt = re.search(re.escape(c) + r" ([\d.]+) \(([\d.]+)%\) cpu ([\d.]+) \(([\d.]+)%\)",
                           line)
            cells.append("%s%% / %s%%" % (mt.group(2), mt.group(4)) if mt else "-")
        print("| %dx | %s | %s |" % (g[0], spec.replace(":AT", " Aᵀ").replace(":BT", " Bᵀ"),
                                     " | ".join(cells)))
    sys.stdout.flush()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tessera", default="build/tessera")
    ap.add_argument("--kernel-bench", default="build/bench/kernel_bench")
    ap.add_argument("--configs", default="gpt-small,gpt-base")
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--steps", type=int, default=0, help="steps per run (0: per config)")
    ap.add_argument("--gemm-table", action="store_true")
    ap.add_argument("--gemm-reps", type=int, default=9)
    ap.add_argument("--gemm-stat", default="median", choices=("median", "min"),
                    help="kernel_bench --stat: min suits a busy machine (short GEMMs only)")
    ap.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    ap.add_argument("--tessera-args", default="", help="extra flags for tessera train")
    args = ap.parse_args()
    extra = args.tessera_args.split()
    summary = []
    for name in args.configs.split(","):
        cfg = CONFIGS[name]
        steps = args.steps or cfg["steps"]
        with tempfile.TemporaryDirectory() as d:
            model = os.path.join(d, name + ".tpb")
            write_model(args.tessera, cfg, model)
            if args.gemm_table:
                gemms = step_gemms(train(args.tessera, model, cfg, "tessera", 3, extra, True))
                print("\n%s: %d GEMM shapes per step" % (name, len(gemms)))
                gemm_table(args.kernel_bench, gemms, args.threads, args.gemm_reps,
                           args.gemm_stat)
            print("\n%s: %d rounds, %d steps per run, TESSERA_GEMM alternated" %
                  (name, args.rounds, steps))
            print("| round | openblas step s | tessera step s | ratio (openblas/tessera) | "
                  "openblas cpu s | tessera cpu s | cpu ratio |")
            print("|---|---|---|---|---|---|---|")
            res = {b: [] for b in BACKENDS}
            ratios, cpu_ratios, losses = [], [], {}
            for r in range(args.rounds):
                order = BACKENDS if r % 2 == 0 else BACKENDS[::-1]
                got = {}
                for b in order:
                    got[b] = train(args.tessera, model, cfg, b, steps, extra)
                    res[b].append(got[b])
                    losses.setdefault(b, got[b][2])
                ratio = got["openblas"][0] / got["tessera"][0]
                cpu_ratio = got["openblas"][1] / got["tessera"][1]
                ratios.append(ratio)
                cpu_ratios.append(cpu_ratio)
                print("| %d | %.4f | %.4f | %.3f | %.2f | %.2f | %.3f |" %
                      (r + 1, got["openblas"][0], got["tessera"][0], ratio, got["openblas"][1],
                       got["tessera"][1], cpu_ratio), flush=True)
            med = {b: statistics.median(x[0] for x in res[b]) for b in BACKENDS}
            cmed = {b: statistics.median(x[1] for x in res[b]) for b in BACKENDS}
            print("| median | %.4f | %.4f | %.3f (per-round median %.3f) | %.2f | %.2f | %.3f |" %
                  (med["openblas"], med["tessera"], med["openblas"] / med["tessera"],
                   statistics.median(ratios), cmed["openblas"], cmed["tessera"],
                   statistics.median(cpu_ratios)))
            wins = sum(1 for x in ratios if x > 1.0)
            dl = max(abs(a - b) / max(abs(a), 1e-30)
                     for a, b in zip(losses["openblas"], losses["tessera"]))
            print("tessera faster in %d of %d rounds; losses openblas vs tessera: max relative "
                  "difference %.2e over %d steps" % (wins, len(ratios), dl, steps))
            summary.append((name, med["openblas"], med["tessera"], statistics.median(ratios),
                            wins, len(ratios)))
    print("\n| config | openblas step s | tessera step s | median per-round ratio | "
          "tessera faster |")
    print("|---|---|---|---|---|")
    for name, o, t, r, w, n in summary:
        print("| %s | %.4f | %.4f | %.3f | %d of %d |" % (name, o, t, r, w, n))


if __name__ == "__main__":
    main()
