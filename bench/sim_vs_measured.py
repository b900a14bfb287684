#!/usr/bin/python3
"""Predicted vs measured step time of distributed CPU training (issue 7, calibration on this machine).

Rows (--rows picks them by name; default all): GPT-small and GPT-base (the sizes of
bench/gpt_bench.py) on 2 ranks (dp=2, tp=2, pp=2 1F1B M=4) and 4 ranks (dp=2 x tp=2, dp=4):
  small-dp2 small-tp2 small-dp2tp2 small-dp4 small-pp2  base-dp2 base-tp2 base-dp2tp2 base-dp4 base-pp2
("small" / "base" select a whole model). For every row this script
  1. calibrates first: bench/cpu_calibrate writes a fresh cluster file (--no-calibrate reuses
     --cluster);
  2. predicts once: `tessera plan` with exactly the flags of the measured run writes the plan its
     ranks run, and `tessera simulate PLAN --cluster FILE` prices it (a pipeline plan: both stages'
     programs side by side with blocking send/recv, partition/sim/PipelineSim.h, so the bubble
     comes from the schedule);
  3. measures in ROUNDS (--rounds, default 3), the rows INTERLEAVED across rounds (round 1 runs
     every row once, then round 2, ...), so a burst of load on the machine hits one run of
     several rows, not every run of one row: `tessera train gpt <sizes> -np N --mesh M ...` (mpirun,
     one single-threaded rank per process), each run's median step after the warm-up steps;
  4. prints per row the predicted step, the median of the runs and their spread (min-max), the
     error of the median and whether the WHOLE spread is within 20% (issue 7's target), and the
     compute part of the step, predicted vs measured (measured = step - time blocked in
     communication, from the ranks' logs), which tells a cost-model miss from a waiting miss.

Noise: every run also reports how much CPU the rest of the machine used while it ran ("others":
machine busy time from /proc/stat minus this run's own CPU time, as a share of all cores). On
this shared 2-core machine a run with others > ~5% is not a quiet measurement: GPT-small's
0.25 s pipeline step measured 0.24-0.36 s in session 13 for that reason (session 14: with one
competing busy thread, dp=2 and pp=2 both slow by ~1.5x; under 5 other helpers' builds, at raised
priority, both measure ~35% above the prediction while their ratio matches it within 3%).

Time: GPT-base runs fewer steps (--steps-base, default 4, 1 warm-up); the default run (10 rows x 3
rounds, --quick calibration) is meant to take under 15 minutes on a quiet machine; progress is
printed per run with the elapsed time.

  /usr/bin/python3 bench/sim_vs_measured.py --tessera build/tessera \\
      --calibrate build/bench/cpu_calibrate --comm-bench build/bench/comm_bench [--quick]
      [--rows small-pp2,base-dp2] [--rounds 5]
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

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gpt_bench import CONFIGS  # noqa: E402  (one place for the GPT-small/base sizes)

LAYOUTS = [  # (name, ranks, --mesh, --parallel or None, further flags)
    ("dp2", 2, "dp=2", "dp", []),
    ("tp2", 2, "tp=2", "megatron", []),
    ("dp2tp2", 4, "dp=2,tp=2", "dp,megatron", []),
    ("dp4", 4, "dp=4", "dp", []),
    ("pp2", 2, "pp=2", None, ["--micro-batches", "4", "--schedule", "1f1b"]),
]
MODELS = [("small", "gpt-small"), ("base", "gpt-base")]
TARGET = 0.20


class Row:
    def __init__(self, short, config, layout):
        self.name = "%s-%s" % (short, layout[0])
        self.config = config
        _, self.ranks, self.mesh, self.parallel, self.extra = layout
        self.cfg = CONFIGS[config]
        self.predicted = None          # step s
        self.pred_compute = None       # compute s of the busiest rank
        self.runs = []                 # dicts: step, compute, others

    def how(self):
        return self.parallel or ("1f1b M=4" if "1f1b" in self.extra else "")


def all_rows():
    return [Row(s, c, l) for s, c in MODELS for l in LAYOUTS]


def select_rows(spec):
    rows = all_rows()
    if not spec or spec == "all":
        return rows
    chosen = []
    for tok in [t for t in spec.split(",") if t]:
        hit = [r for r in rows if r.name == tok or r.name.startswith(tok + "-")]
        if not hit:
            sys.exit("--rows: unknown row '%s' (known: %s, or small / base)" %
                     (tok, " ".join(r.name for r in rows)))
        chosen += [r for r in hit if r not in chosen]
    return [r for r in rows if r in chosen]  # table order


def layout_flags(row):
    return ["--mesh", row.mesh] + (["--parallel", row.parallel] if row.parallel else []) + row.extra


def model_flags(cfg):
    return ["--layers=%d" % cfg["layers"], "--hidden=%d" % cfg["hidden"], "--heads=%d" % cfg["heads"],
            "--vocab=%d" % cfg["vocab"], "--seq", str(cfg["seq"]), "--batch", str(cfg["batch"])]


def env():
    e = dict(os.environ)
    if os.geteuid() == 0:
        e["OMPI_ALLOW_RUN_AS_ROOT"] = "1"
        e["OMPI_ALLOW_RUN_AS_ROOT_CONFIRM"] = "1"
    return e


def parse_simulate(out):
    """(step s, compute s of the busiest rank) from `tessera simulate`'s output."""
    m = re.search(r"^step\s+([0-9.eE+-]+) s", out, re.M)
    if not m:
        raise RuntimeError("no step time in tessera simulate's output:\n" + out)
    stages = [float(x) for x in re.findall(r"^\s+stage \d+\s+end [0-9.eE+-]+ s: compute ([0-9.eE+-]+) s",
                                           out, re.M)]
    if stages:
        return float(m.group(1)), max(stages)
    c = re.search(r"^\s+compute\s+([0-9.eE+-]+) s", out, re.M)
    return float(m.group(1)), float(c.group(1)) if c else None


def predict(tessera, row, cluster, d):
    plan = os.path.join(d, "plan.tpb")
    subprocess.run([tessera, "plan", "gpt"] + model_flags(row.cfg) + layout_flags(row) + ["-o", plan],
                   check=True, stdout=subprocess.DEVNULL, env=env())
    out = subprocess.run([tessera, "simulate", plan, "--cluster", cluster], check=True,
                         stdout=subprocess.PIPE, text=True, env=env()).stdout
    os.remove(plan)  # GPT-base plans hold the initial values and AdamW state (GBs)
    return parse_simulate(out)


def machine_busy_s():
    """CPU seconds the whole machine has spent busy (all cores), from /proc/stat."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    # user nice system idle iowait irq softirq steal ...: busy = all but idle and iowait.
    return (sum(v[:8]) - v[3] - v[4]) / os.sysconf("SC_CLK_TCK")


def children_cpu_s():
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def rank_breakdown(logdir, ranks):
    """Per rank (median per step, from its log): (blocked in communication s, step s)."""
    out = []
    for r in range(ranks):
        try:
            with open(os.path.join(logdir, "rank%d.log" % r)) as f:
                text = f.read()
        except OSError:
            return None
        m = re.search(r"exposed wait ([\d.]+) ms \+ pack/reduce ([\d.]+) ms of a ([\d.]+) ms step", text)
        if not m:
            return None
        out.append((float(m.group(1)) / 1e3, float(m.group(3)) / 1e3))
    return out


def measure(tessera, row, steps, warmup, d):
    log = os.path.join(d, "log.jsonl")
    logdir = os.path.join(d, "ranks")
    busy0, own0, t0 = machine_busy_s(), children_cpu_s(), time.time()
    subprocess.run([tessera, "train", "gpt"] + model_flags(row.cfg) + ["-np", str(row.ranks)] +
                   layout_flags(row) + ["--steps", str(steps), "--log-json", log, "--log-dir", logdir,
                                        "--quiet"],
                   check=True, stdout=subprocess.DEVNULL, env=env())
    wall = time.time() - t0
    others = max(0.0, (machine_busy_s() - busy0) - (children_cpu_s() - own0)) / (wall * os.cpu_count())
    with open(log) as f:
        recs = [json.loads(line) for line in f if line.strip()]
    times = [r["step_time_s"] for r in recs][warmup:]
    if not times:
        raise RuntimeError("%s: fewer than %d steps logged" % (row.name, warmup + 1))
    ranks = rank_breakdown(logdir, row.ranks)
    # The busiest rank's compute: its step minus the time it was blocked in communication.
    compute = max(s - w for w, s in ranks) if ranks else None
    return dict(step=statistics.median(times), compute=compute, others=others, wall=wall)


def calibrate(args):
    cmd = [args.calibrate, "-o", args.cluster]
    if os.path.exists(args.comm_bench):
        cmd += ["--comm-bench", args.comm_bench]
    if args.quick:
        cmd.append("--quick")
    print("calibrating: " + " ".join(cmd), flush=True)
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, env=env())


def pct(x):
    return "%+6.1f%%" % (100 * x)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tessera", default="build/tessera")
    ap.add_argument("--cluster", default="build/cpu.cluster", help="calibrated cluster file (written first)")
    ap.add_argument("--no-calibrate", action="store_true", help="reuse --cluster instead of calibrating")
    ap.add_argument("--calibrate", default="build/bench/cpu_calibrate")
    ap.add_argument("--comm-bench", default="build/bench/comm_bench")
    ap.add_argument("--quick", action="store_true", help="calibrate with fewer repetitions")
    ap.add_argument("--rows", default="all", help="comma-separated row names, or small / base")
    ap.add_argument("--rounds", type=int, default=3, help="measured runs per row, interleaved (>= 1)")
    ap.add_argument("--steps-small", type=int, default=8)
    ap.add_argument("--warmup-small", type=int, default=2, help="steps left out of a run's median")
    ap.add_argument("--steps-base", type=int, default=4)
    ap.add_argument("--warmup-base", type=int, default=1)
    args = ap.parse_args()
    if args.rounds < 1:
        sys.exit("--rounds: at least 1")
    for s, w, name in ((args.steps_small, args.warmup_small, "small"), (args.steps_base, args.warmup_base, "base")):
        if s <= w:
            sys.exit("--steps-%s must exceed --warmup-%s" % (name, name))
    rows = select_rows(args.rows)
    start = time.time()

    def stamp():
        return "%5.0fs" % (time.time() - start)

    if args.no_calibrate:
        if not os.path.exists(args.cluster):
            sys.exit("--no-calibrate: no cluster file %s" % args.cluster)
    else:
        calibrate(args)
    print("cluster file %s" % args.cluster, flush=True)

    for row in rows:
        with tempfile.TemporaryDirectory() as d:
            row.predicted, row.pred_compute = predict(args.tessera, row, args.cluster, d)
        print("%s predicted %-13s %.4f s (compute %.4f s)" % (stamp(), row.name, row.predicted,
                                                              row.pred_compute or 0), flush=True)
    for rnd in range(args.rounds):
        for row in rows:
            small = row.config == "gpt-small"
            steps, warmup = (args.steps_small, args.warmup_small) if small else (args.steps_base, args.warmup_base)
            with tempfile.TemporaryDirectory() as d:
                r = measure(args.tessera, row, steps, warmup, d)
            row.runs.append(r)
            print("%s round %d/%d %-13s measured %.4f s (%s vs predicted; compute %s; others %.0f%%; run %.0f s)"
                  % (stamp(), rnd + 1, args.rounds, row.name, r["step"], pct((row.predicted - r["step"]) / r["step"]),
                     "%.4f s" % r["compute"] if r["compute"] is not None else "-", 100 * r["others"], r["wall"]),
                  flush=True)

    print()
    print("%-13s %5s %-10s %-12s | %9s | %9s %-17s %8s %8s | %-9s %-9s | %7s"
          % ("row", "ranks", "mesh", "parallel", "predicted", "measured", "(min-max)", "error", "spread",
             "compute p", "compute m", "others"))
    errors, inside = [], 0
    for row in rows:
        steps = [r["step"] for r in row.runs]
        med, lo, hi = statistics.median(steps), min(steps), max(steps)
        err = (row.predicted - med) / med
        # The error against every run: the whole spread is within the target when both ends are.
        worst = max(abs((row.predicted - lo) / lo), abs((row.predicted - hi) / hi))
        ok = worst <= TARGET
        inside += ok
        errors.append(abs(err))
        comp = [r["compute"] for r in row.runs if r["compute"] is not None]
        print("%-13s %5d %-10s %-12s | %9.4f | %9.4f (%.4f-%.4f) %8s %8s | %9s %9s | %6.0f%%"
              % (row.name, row.ranks, row.mesh, row.how(), row.predicted, med, lo, hi, pct(err),
                 "within" if ok else "OUTSIDE", "%.4f" % row.pred_compute if row.pred_compute else "-",
                 "%.4f" % statistics.median(comp) if comp else "-",
                 100 * max(r["others"] for r in row.runs)))
    print("error of the median: mean |error| %.1f%%, worst %.1f%%; %d of %d rows have every run within "
          "%.0f%% (issue 7's target); %d rounds, %.0f s in all"
          % (100 * statistics.mean(errors), 100 * max(errors), inside, len(rows), 100 * TARGET, args.rounds,
             time.time() - start))
    print("others = CPU the rest of the machine used during a run (worst round), as a share of all cores; "
          "above ~5% the run is not a quiet measurement")


if __name__ == "__main__":
    main()
