#!/usr/bin/python3
"""Pipeline parallelism on this CPU (issue 6's measurement): GPT under `tessera run` with a pp mesh,
against one device and against dp=2 on the same model and global batch.

Configurations: pp=2 GPipe and 1F1B with M = 4 and 8, interleaved 1F1B V=2 M=4; pp=4 (4 ranks on
this 2-core machine: OVERSUBSCRIBED, only the shape of the curve means something) GPipe M=8, 1F1B
M=4 and 8. Sizes: bench/gpt_bench.py's gpt-base (12 layers, hidden 768, 12 heads, seq 256, vocab
512) at batch 8, so that M = 8 divides it.

Per configuration, one `tessera plan ... --memory-report -o plan.tpb`, one `tessera simulate
plan.tpb` (the simulator's per-stage compute and waits, partition/sim/PipelineSim.h), and one
`mpirun -np P tessera run plan.tpb --log-dir D` (each rank on one thread):
  - measured bubble: from every rank's busy and idle time. Each rank's log ends with the median
    per step of the time it spent blocked in communication ("exposed wait": its send/recv waits,
    i.e. idle) and of its step time; busy = step - wait. The bubble of a rank is idle / busy — the
    definition of the theory's (p-1)/m (GPipe, 1F1B) and (p-1)/(v m) (interleaved), where every
    rank idles (p-1)(t_f+t_b) around m (t_f+t_b) of work. The table gives the mean over ranks
    and the largest. It also holds what the theory leaves out: the transfers themselves, the
    tied-embedding exchange, the loss broadcast, stage imbalance (the last stage has the head).
  - predicted bubble: the same ratio from the simulator's stage times (waiting / compute).
  - per-stage memory: the planned peak of every rank's step (`--memory-report`, the engine's
    buffer plan by liveness) against the measured maximum resident set of that rank's process
    (/usr/bin/time; it also holds the process's baseline: code, LLVM, MPI — printed once, from a
    1-step single-device run, so the difference can be read).
  - tokens/s: global batch tokens / median step time, against dp=2 and one device.
Step times are medians over the steps after the first (warm-up, compilation).

Run:  /usr/bin/python3 bench/pipeline_bench.py --tessera build/tessera [--config gpt-base]
      (--config tiny: seconds, to check that the script works; --steps N)
"""
import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile

CONFIGS = {
    "tiny": dict(layers=4, hidden=32, heads=2, seq=16, batch=8, vocab=256),
    # gpt_bench.py's gpt-small (batch 8, as there).
    "gpt-small": dict(layers=4, hidden=256, heads=4, seq=128, batch=8, vocab=256),
    # gpt_bench.py's gpt-base, batch 8 (M = 8 must divide it).
    "gpt-base": dict(layers=12, hidden=768, heads=12, seq=256, batch=8, vocab=512),
}

# (p, schedule, M, V)
RUNS = [(2, "gpipe", 4, 1), (2, "gpipe", 8, 1), (2, "1f1b", 4, 1), (2, "1f1b", 8, 1),
        (2, "interleaved", 4, 2),
        (4, "gpipe", 8, 1), (4, "1f1b", 4, 1), (4, "1f1b", 8, 1)]

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


def median_step(log):
    recs = [json.loads(line) for line in open(log) if line.strip()]
    times = [x["step_time_s"] for x in recs[1:]] or [recs[0]["step_time_s"]]
    return statistics.median(times)


def train(tessera, cfg, steps, extra, np_, d):
    """`tessera train` (one device or dp=2): median step time and the max RSS (KiB) of the run."""
    log = os.path.join(d, "train.json")
    rss = os.path.join(d, "train.rss")
    cmd = ["/usr/bin/time", "-f", "%M", "-o", rss, tessera, "train", "gpt", "--steps", str(steps),
           "--log-json", log, "--quiet"] + model_flags(cfg) + extra
    if np_:
        cmd += ["-np", str(np_)]
    sh(cmd)
    return median_step(log), int(open(rss).read().split()[-1])


def planned_memory(text):
    """Per rank: the planned peak in bytes, from --memory-report ("rank r (stage ...): peak X KiB")."""
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


def rank_times(logdir, p):
    """Per rank (median per step): (exposed wait s, step s), from the rank logs' summary line."""
    out = []
    for r in range(p):
        text = open(os.path.join(logdir, "rank%d.log" % r)).read()
        m = re.search(r"exposed wait ([\d.]+) ms \+ pack/reduce ([\d.]+) ms of a ([\d.]+) ms step", text)
        if not m:
            sys.exit("no communication summary in %s/rank%d.log:\n%s" % (logdir, r, text))
        out.append((float(m.group(1)) / 1e3, float(m.group(3)) / 1e3))
    return out


def pipeline(tessera, cfg, steps, p, sched, m, v, d):
    plan = os.path.join(d, "plan.tpb")
    cmd = [tessera, "plan", "gpt"] + model_flags(cfg) + [
        "--mesh", "pp=%d" % p, "--schedule", sched, "--micro-batches", str(m), "--memory-report",
        "-o", plan]
    if v > 1:
        cmd += ["--virtual-stages", str(v)]
    planned = planned_memory(sh(cmd))
    predicted = simulated_bubble(tessera, plan, p)
    logdir = os.path.join(d, "logs")
    log = os.path.join(d, "run.json")
    # Each rank's max RSS into its own file (OMPI_COMM_WORLD_RANK is set by mpirun per rank).
    wrapped = "exec /usr/bin/time -f %%M -o %s/rss.$OMPI_COMM_WORLD_RANK \"$@\"" % d
    sh(["mpirun", "-np", str(p), "--oversubscribe", "--bind-to", "none", "sh", "-c", wrapped, "sh",
        tessera, "run", plan, "--steps", str(steps), "--log-dir", logdir, "--log-json", log,
        "--quiet", "--no-summary"])
    rss = [int(open(os.path.join(d, "rss.%d" % r)).read().split()[-1]) * 1024 for r in range(p)]
    times = rank_times(logdir, p)
    bubbles = [w / (t - w) if t > w else float("inf") for w, t in times]
    return dict(step=median_step(log), bubbles=bubbles, predicted=predicted, planned=planned, rss=rss)


def mib(x):
    return "%.1f" % (x / 2**20)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tessera", default="build/tessera")
    ap.add_argument("--config", default="gpt-base", choices=sorted(CONFIGS))
    ap.add_argument("--steps", type=int, default=6)
    args = ap.parse_args()
    cfg = CONFIGS[args.config]
    tok = cfg["batch"] * cfg["seq"]
    print("pipeline bench: gpt %s (%s), batch %d x %d tokens, %d steps (medians after the first)"
          % (args.config, ", ".join("%s=%d" % kv for kv in cfg.items()), cfg["batch"], cfg["seq"],
             args.steps))
    rows = []
    with tempfile.TemporaryDirectory() as d:
        t1, rss1 = train(args.tessera, cfg, args.steps, [], 0, d)
        tdp, _ = train(args.tessera, cfg, args.steps, ["--mesh", "dp=2", "--parallel", "dp"], 2, d)
        for p, sched, m, v in RUNS:
            if cfg["batch"] % m or p * v > cfg["layers"]:
                continue
            name = "pp=%d %s M=%d%s%s" % (p, sched, m, " V=%d" % v if v > 1 else "",
                                           " (oversub.)" if p > 2 else "")
            with tempfile.TemporaryDirectory(dir=d) as rd:
                r = pipeline(args.tessera, cfg, args.steps, p, sched, m, v, rd)
            r.update(name=name, theory=(p - 1) / (v * m))
            rows.append(r)
            print("  done: %s" % name, flush=True)

    print()
    print("%-30s %9s %8s %8s %8s %8s %8s %8s" % ("run", "s/step", "tok/s", "vs dp=2", "bubble",
                                               "max", "theory", "sim"))
    print("%-30s %9.4f %8.0f %8.2f" % ("1 device", t1, tok / t1, tdp / t1))
    print("%-30s %9.4f %8.0f %8.2f" % ("dp=2", tdp, tok / tdp, 1.0))
    for r in rows:
        b = r["bubbles"]
        sim = "%.3f" % statistics.mean(r["predicted"]) if r["predicted"] else "-"
        print("%-30s %9.4f %8.0f %8.2f %8.3f %8.3f %8.3f %8s" % (
            r["name"], r["step"], tok / r["step"], tdp / r["step"], statistics.mean(b), max(b),
            r["theory"], sim))
    print()
    print("per-stage memory (MiB): planned peak (--memory-report) / measured max RSS of the rank")
    print("  (RSS includes the process baseline: 1-device run RSS %s MiB)" % mib(rss1 * 1024))
    for r in rows:
        cells = ["r%d %s/%s" % (k, mib(r["planned"].get(k, 0)) if r["planned"] else "-", mib(x))
                 for k, x in enumerate(r["rss"])]
        print("%-30s %s" % (r["name"], "  ".join(cells)))
    print()
    print("bubble = idle / busy per rank (idle = median exposed send/recv wait per step, busy = "
          "step - idle); 'bubble' is the mean over ranks, 'max' the largest; theory (p-1)/(v m); "
          "sim = the simulator's waiting / compute, mean over stages.")
    print("resolution: medians of %d steps; timer resolution ~1 us; pp=4 runs 4 ranks on 2 cores "
          "(oversubscribed: waits include time-slicing, not only the schedule's bubble)."
          % max(1, args.steps - 1))


if __name__ == "__main__":
    main()
