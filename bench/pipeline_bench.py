#!/usr/bin/python3
"""Pipeline parallelism on this CPU (issue 6's measurement): GPT under `tessera run` with a pp mesh,
against one device and against dp=2 on the same model and global batch.

Runs (--runs picks them by name, default all): 1dev, dp2, pp2-gpipe-m4, pp2-gpipe-m8, pp2-1f1b-m4,
pp2-1f1b-m8, pp2-int-m4-v2 (interleaved 1F1B, V=2), pp4-1f1b-m8 (4 ranks on this 2-core machine:
OVERSUBSCRIBED, only the shape of the curve means something); pp4-gpipe-m8 and pp4-1f1b-m4 on
request. Sizes (--config): bench/gpt_bench.py's gpt-base (12 layers, hidden 768, 12 heads, seq 256,
vocab 512) or gpt-small (4 layers, hidden 256, seq 128), at batch 8 so that M = 8 divides it; tiny
checks the script in seconds. GPT-base: ~10 min for the default runs at the default 3 steps.

Per pipeline run: `tessera plan ... --memory-report -o plan.tpb`, `tessera simulate plan.tpb`, and
`mpirun -np P tessera run plan.tpb --log-dir D --log-json J` (each rank on one thread).

Memory, per rank (what issue 6 asks: per-stage peak memory against the planner's prediction):
  - planner: the pipeline planner's peak for the rank's step (`--memory-report` of `tessera plan`,
    partition/pipeline/StageMemory.h: liveness over the rank's IR program, before fusion);
  - plan: the engine's buffer plan for the same step (arguments + arena, after fusion: fused
    intermediates never exist), the figure the allocator works to;
  - measured: the engine's allocator — argument storage + the highest arena byte any thunk
    wrote (launcher/RankMemory.h; the run's --log-json step 1 carries every rank's);
  - ratio measured / plan, and the C++ heap a step allocates outside the engine (collective
    staging, micro-batch slices, library-kernel temporaries; HeapCounter.h), from the rank logs.
  The process's RSS is not used: its baseline (code, LLVM, MPI, ~250 MiB) dwarfs a step's memory.
  Measured equals plan to the byte when the runtime follows its plan (the arena's top buffer is
  written); the informative gap is planner vs plan. Found with it (session 13): under 1F1B the
  engine's plan on the first rank is about twice the planner's, because fusion puts each
  parameter's chain of micro-batch gradient adds into one kernel that runs at the last add, so
  every micro-batch's gradient stays live until then (tiny GPT pp=2 M=8, rank 0 arena 1.28 MB
  fused vs 0.60 MB with EngineOptions::fuse = false; GPipe 1.30 vs 1.33 MB).
  One device and dp=2 report the same figures (`tessera train --memory-report`, and the dp run's
  --log-json).

Bubble, per rank: the theory's bubble fraction is the idle time of a rank over its compute,
(p-1)(t_f+t_b) idle around m(t_f+t_b) of work: (p-1)/m for GPipe and 1F1B, (p-1)/(v m) interleaved,
with EQUAL stages and FREE transfers (idle over compute, as in Narayanan et al. and the simulator's
unit-time check, docs/pipeline.md; idle over the whole step would be (p-1)/(m+p-1)). Measured: each rank's log ends with the median per step of the
time it was blocked in send/recv ("exposed wait") and of its step; bubble = wait / (step - wait).
The simulator's figure is the same ratio from its stage times (waiting / compute, `tessera
simulate`). What makes the measured bubble differ from (p-1)/m:
  - uneven stages: the embedding sits on the first stage, the LM head and loss on the last; the
    slowest stage sets the pace and the others wait for it (the simulator sees this, the theory
    does not);
  - transfer time: a receive waits for the bytes, not only for the sender's compute (blocking
    send/recv; the interleaved schedule sends v times as many messages);
  - work outside the schedule: the tied-embedding gradient exchange, the optimizer step, the loss
    sent from the last stage to every rank — it adds to busy time or to waits;
  - oversubscription (pp=4 on 2 cores): a rank also waits while another rank holds its core.

Time: a gpt-base plan file holds the global initial weights (~0.34 GB; the AdamW state, all zeros,
is stored as one element per tensor since session 14 — it was ~1 GB and more before); `tessera plan`,
`tessera simulate` and every rank each read or write it. --no-sim skips the simulator; --runs picks fewer rows.

Run:  /usr/bin/python3 bench/pipeline_bench.py --tessera build/tessera [--config gpt-base]
      [--runs 1dev,dp2,pp2-1f1b-m8] [--steps N]
"""
import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time

CONFIGS = {
    "tiny": dict(layers=4, hidden=32, heads=2, seq=16, batch=8, vocab=256),
    # gpt_bench.py's gpt-small (batch 8, as there).
    "gpt-small": dict(layers=4, hidden=256, heads=4, seq=128, batch=8, vocab=256),
    # gpt_bench.py's gpt-base, batch 8 (M = 8 must divide it).
    "gpt-base": dict(layers=12, hidden=768, heads=12, seq=256, batch=8, vocab=512),
}
DEFAULT_STEPS = {"tiny": 4, "gpt-small": 5, "gpt-base": 3}

# name -> (p, schedule, M, V)
PIPELINE_RUNS = {
    "pp2-gpipe-m4": (2, "gpipe", 4, 1),
    "pp2-gpipe-m8": (2, "gpipe", 8, 1),
    "pp2-1f1b-m4": (2, "1f1b", 4, 1),
    "pp2-1f1b-m8": (2, "1f1b", 8, 1),
    "pp2-int-m4-v2": (2, "interleaved", 4, 2),
    "pp4-gpipe-m8": (4, "gpipe", 8, 1),
    "pp4-1f1b-m4": (4, "1f1b", 4, 1),
    "pp4-1f1b-m8": (4, "1f1b", 8, 1),
}
DEFAULT_RUNS = ["1dev", "dp2", "pp2-gpipe-m4", "pp2-gpipe-m8", "pp2-1f1b-m4", "pp2-1f1b-m8",
                "pp2-int-m4-v2", "pp4-1f1b-m8"]

ENV = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
UNITS = {"B": 1, "KiB": 2**10, "MiB": 2**20, "GiB": 2**30}


def sh(cmd):
    r = subprocess.run(cmd, capture_output=True, text=True, env=ENV)
    if r.returncode != 0:
        sys.exit("failed: %s\n%s%s" % (" ".join(cmd), r.stdout, r.stderr))
    return r.stdout


def model_flags(cfg):
    return ["--batch", str(cfg["batch"]), "--seq", str(cfg["seq"]), "--layers", str(cfg["layers"]),
            "--hidden", str(cfg["hidden"]), "--heads", str(cfg["heads"]), "--vocab", str(cfg["vocab"])]


def records(log):
    return [json.loads(line) for line in open(log) if line.strip()]


def median_step(recs):
    times = [x["step_time_s"] for x in recs[1:]] or [recs[0]["step_time_s"]]
    return statistics.median(times)


def rank_memory(recs):
    """Per rank (planned, measured) bytes from the first --log-json record, or []."""
    first = recs[0]
    if "ranks_planned_peak_bytes" not in first:
        return []
    return list(zip(first["ranks_planned_peak_bytes"], first["ranks_measured_peak_bytes"]))


def one_device(tessera, cfg, steps, d):
    """`tessera train` on one device: median step, and (planned, measured) from --memory-report."""
    log = os.path.join(d, "train.json")
    out = sh([tessera, "train", "gpt", "--steps", str(steps), "--log-json", log, "--quiet",
              "--memory-report"] + model_flags(cfg))
    planned = re.search(r"planned peak +[\d.]+ \w+ \((\d+) bytes\)", out)
    measured = re.search(r"measured peak +(\d+) bytes", out)
    mem = [(int(planned.group(1)), int(measured.group(1)))] if planned and measured else []
    return dict(step=median_step(records(log)), memory=mem, planner={}, heap=[], bubbles=None)


def data_parallel(tessera, cfg, steps, d):
    log = os.path.join(d, "dp.json")
    logdir = os.path.join(d, "dplogs")
    sh([tessera, "train", "gpt", "--steps", str(steps), "--log-json", log, "--quiet", "-np", "2",
        "--mesh", "dp=2", "--parallel", "dp", "--log-dir", logdir] + model_flags(cfg))
    recs = records(log)
    return dict(step=median_step(recs), memory=rank_memory(recs), planner={},
                heap=rank_heap(logdir, 2), bubbles=None)


def planner_memory(text):
    """Per rank: the pipeline planner's peak in bytes, from --memory-report ("rank r (...): peak X")."""
    out = {}
    for m in re.finditer(r"rank (\d+) \([^)]*\): peak ([\d.]+) (B|KiB|MiB|GiB)", text):
        out[int(m.group(1))] = float(m.group(2)) * UNITS[m.group(3)]
    return out


def simulated_bubble(tessera, plan, p):
    """(waiting / compute) per stage from `tessera simulate` on a cluster of this CPU, or None."""
    r = subprocess.run([tessera, "simulate", plan, "--cluster", "1x%d:cpu" % p],
                       capture_output=True, text=True, env=ENV)
    stages = re.findall(r"stage \d+ +end [\d.e+-]+ s: compute ([\d.e+-]+) s.*waiting ([\d.e+-]+) s",
                        r.stdout)
    if r.returncode != 0 or not stages:
        return None
    return [float(w) / float(c) if float(c) > 0 else 0.0 for c, w in stages]


def rank_log(logdir, r):
    return open(os.path.join(logdir, "rank%d.log" % r)).read()


def rank_times(logdir, p):
    """Per rank (median per step): (exposed wait s, step s), from the rank logs' summary line."""
    out = []
    for r in range(p):
        text = rank_log(logdir, r)
        m = re.search(r"exposed wait ([\d.]+) ms \+ pack/reduce ([\d.]+) ms of a ([\d.]+) ms step", text)
        if not m:
            sys.exit("no communication summary in %s/rank%d.log:\n%s" % (logdir, r, text))
        out.append((float(m.group(1)) / 1e3, float(m.group(3)) / 1e3))
    return out


def rank_heap(logdir, p):
    """Per rank: the C++ heap a later step allocates outside the engine (bytes; None if absent)."""
    out = []
    for r in range(p):
        m = re.search(r"C\+\+ heap during a step: first (-?\d+) bytes, later (-?\d+) bytes", rank_log(logdir, r))
        out.append(int(m.group(2)) if m else None)
    return out


def pipeline(tessera, cfg, steps, p, sched, m, v, d, sim):
    plan = os.path.join(d, "plan.tpb")
    cmd = [tessera, "plan", "gpt"] + model_flags(cfg) + [
        "--mesh", "pp=%d" % p, "--schedule", sched, "--micro-batches", str(m), "--memory-report",
        "-o", plan]
    if v > 1:
        cmd += ["--virtual-stages", str(v)]
    planner = planner_memory(sh(cmd))
    predicted = simulated_bubble(tessera, plan, p) if sim else None
    logdir = os.path.join(d, "logs")
    log = os.path.join(d, "run.json")
    sh(["mpirun", "-np", str(p), "--oversubscribe", "--bind-to", "none", tessera, "run", plan,
        "--steps", str(steps), "--log-dir", logdir, "--log-json", log, "--quiet", "--no-summary"])
    recs = records(log)
    times = rank_times(logdir, p)
    bubbles = [w / (t - w) if t > w else float("inf") for w, t in times]
    return dict(step=median_step(recs), bubbles=bubbles, predicted=predicted, planner=planner,
                memory=rank_memory(recs), heap=rank_heap(logdir, p), theory=(p - 1) / (v * m))


def mib(x):
    return "-" if x is None else "%.1f" % (x / 2**20)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tessera", default="build/tessera")
    ap.add_argument("--config", default="gpt-base", choices=sorted(CONFIGS))
    ap.add_argument("--steps", type=int, default=0, help="steps per run (default: 3 gpt-base, 5 gpt-small)")
    ap.add_argument("--runs", default=",".join(DEFAULT_RUNS),
                    help="comma-separated: 1dev, dp2, " + ", ".join(PIPELINE_RUNS))
    ap.add_argument("--no-sim", action="store_true",
                    help="skip `tessera simulate` (it reads the whole plan file: ~0.34 GB for gpt-base)")
    args = ap.parse_args()
    cfg = CONFIGS[args.config]
    steps = args.steps or DEFAULT_STEPS[args.config]
    runs = [r for r in args.runs.split(",") if r]
    for r in runs:
        if r not in PIPELINE_RUNS and r not in ("1dev", "dp2"):
            sys.exit("--runs: unknown run '%s' (known: 1dev, dp2, %s)" % (r, ", ".join(PIPELINE_RUNS)))
    tok = cfg["batch"] * cfg["seq"]
    print("pipeline bench: gpt %s (%s), batch %d x %d tokens, %d steps per run (medians after the "
          "first)" % (args.config, ", ".join("%s=%d" % kv for kv in cfg.items()), cfg["batch"],
                      cfg["seq"], steps), flush=True)
    rows = []
    t0 = time.time()
    with tempfile.TemporaryDirectory() as d:
        for name in runs:
            start = time.time()
            with tempfile.TemporaryDirectory(dir=d) as rd:
                if name == "1dev":
                    r = one_device(args.tessera, cfg, steps, rd)
                    label = "1 device"
                elif name == "dp2":
                    r = data_parallel(args.tessera, cfg, steps, rd)
                    label = "dp=2"
                else:
                    p, sched, m, v = PIPELINE_RUNS[name]
                    if cfg["batch"] % m or p * v > cfg["layers"]:
                        print("  skip %s: M=%d does not divide batch %d or %d stages > %d layers"
                              % (name, m, cfg["batch"], p * v, cfg["layers"]), flush=True)
                        continue
                    r = pipeline(args.tessera, cfg, steps, p, sched, m, v, rd, not args.no_sim)
                    label = "pp=%d %s M=%d%s%s" % (p, sched, m, " V=%d" % v if v > 1 else "",
                                                   " (oversub.)" if p > 2 else "")
            r["name"] = label
            r["key"] = name
            rows.append(r)
            print("  done %-14s %6.1f s (total %6.1f s): %.4f s/step" % (
                name, time.time() - start, time.time() - t0, r["step"]), flush=True)

    dp = next((r["step"] for r in rows if r["key"] == "dp2"), None)
    print()
    print("%-32s %9s %8s %8s %8s %8s %8s %8s" % ("run", "s/step", "tok/s", "vs dp=2", "bubble",
                                                 "max", "theory", "sim"))
    for r in rows:
        vs = "%8.2f" % (dp / r["step"]) if dp else "%8s" % "-"
        cells = "%-32s %9.4f %8.0f %s" % (r["name"], r["step"], tok / r["step"], vs)
        if r.get("bubbles"):
            b, pred = r["bubbles"], r.get("predicted")
            cells += " %8.3f %8.3f %8.3f %8s" % (statistics.mean(b), max(b), r["theory"],
                                                "%.3f" % statistics.mean(pred) if pred else "-")
        print(cells)
    print()
    print("bubble per rank (measured wait / busy | simulator waiting / compute):")
    for r in rows:
        if not r.get("bubbles"):
            continue
        pred = r.get("predicted") or []
        cells = ["r%d %.3f|%s" % (k, b, "%.3f" % pred[k] if k < len(pred) else "-")
                 for k, b in enumerate(r["bubbles"])]
        print("  %-30s theory %.3f: %s" % (r["name"], r["theory"], "  ".join(cells)))
    print()
    print("memory per rank, MiB: planner (StageMemory, IR liveness) / engine plan / allocator's "
          "measured peak (measured/plan); heap = C++ heap a later step allocates outside the engine")
    for r in rows:
        cells = []
        for k, (planned, measured) in enumerate(r["memory"]):
            planner = r["planner"].get(k) if r["planner"] else None
            heap = r["heap"][k] if k < len(r["heap"]) else None
            cells.append("r%d %s/%s/%s (%.3f) heap %s" % (
                k, mib(planner), mib(planned), mib(measured),
                measured / planned if planned else 0, mib(heap)))
        print("  %-30s %s" % (r["name"], "  ".join(cells) if cells else "-"))
    print()
    print("bubble = wait / (step - wait) per rank (wait = median exposed send/recv wait per step); "
          "'bubble' is the mean over ranks, 'max' the largest; theory (p-1)/(v m); sim = the "
          "simulator's waiting / compute, mean over stages.")
    print("resolution: medians of %d steps; timer resolution ~1 us; memory figures exact to the byte "
          "(planner: 3 digits); pp=4 runs 4 ranks on 2 cores (oversubscribed: waits include "
          "time-slicing, not only the schedule's bubble)." % max(1, steps - 1))


if __name__ == "__main__":
    main()
