#!/usr/bin/python3
"""Activation checkpointing on GPT-base: memory budget vs planned peak vs measured step time.

Runs `tessera train` on the zoo GPT-base (12 layers, hidden 768, 12 heads, seq 256, batch 4,
vocab 512) without remat, then with `--remat=auto` at budgets that keep the non-activation bytes
and a fraction (3/4, 1/2, 1/3, ...) of the no-remat activation bytes, down to the smallest
feasible budget (which the remat pass states, by the engine's buffer plan, when asked for an
impossible one). "Activation bytes" are the activation category of the engine's memory report at
its peak (`--memory-report`), without remat. Prints, per row, the budget, the planned peak and
activation bytes of the engine's memory report, the median step time, the slowdown against no
remat and auto's per-layer choice (k/s/f = keep/selective/full). Issue 4 asks: at 1/2 of the
activations at most 10% slower, at 1/3 at most 20%.

  /usr/bin/python3 bench/remat_curve.py --tessera build/tessera [--steps 5]
"""
import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile

MODEL = ["--layers=12", "--hidden=768", "--heads=12", "--seq=256", "--vocab=512"]


def run(tessera, model, steps, extra):
    with tempfile.TemporaryDirectory() as d:
        log = os.path.join(d, "log.jsonl")
        p = subprocess.run([tessera, "train", model, "--batch", "4", "--seq", "256", "--steps",
                            str(steps), "--memory-report", "--log-json", log] + extra,
                           capture_output=True, text=True)
        if p.returncode != 0:
            return None, p.stderr.strip()
        with open(log) as f:
            times = [json.loads(line)["step_time_s"] for line in f if line.strip()]
    peak = int(re.search(r"planned peak .*\((\d+) bytes\)", p.stdout).group(1))
    act = int(re.search(r"activations .*\((\d+) bytes\)", p.stdout).group(1))
    choice = re.search(r"remat auto: .*\[([ksf]+)\]", p.stdout)
    return (peak, act, statistics.median(times[1:]), choice.group(1) if choice else "-"), ""


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tessera", default="build/tessera")
    ap.add_argument("--steps", type=int, default=5)
    args = ap.parse_args()
    for var in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):
        os.environ.pop(var, None)
    with tempfile.TemporaryDirectory() as d:
        model = os.path.join(d, "gpt-base.tpb")
        subprocess.run([args.tessera, "zoo", "gpt"] + MODEL + ["-o", model], check=True)
        base, err = run(args.tessera, model, args.steps, [])
        if base is None:
            sys.exit(err)
        peak0, act0, t0, _ = base
        _, err = run(args.tessera, model, 1, ["--remat", "auto", "--memory-budget", "1"])
        m = re.search(r"minimum feasible planned peak of @train_step is (\d+) bytes", err)
        minimum = int(m.group(1)) if m else None
        print("no remat: planned peak %d bytes, activations %d bytes, %.3f s/step" % (peak0, act0, t0))
        print("smallest feasible budget (remat pass): %s bytes" % minimum)
        print("%-18s %-10s %16s %16s %10s %9s  %s" % ("budget bytes", "fraction", "planned peak",
                                                      "activations", "s/step", "slowdown", "plan"))
        rows = [(peak0 - act0 + int(f * act0), "%.2f" % f) for f in (0.75, 0.5, 1 / 3, 0.25)]
        if minimum:
            rows.append((minimum, "minimum"))
        for budget, label in rows:
            r, err = run(args.tessera, model, args.steps,
                         ["--remat", "auto", "--memory-budget", str(budget)])
            if r is None:
                print("%-18d %-10s %s" % (budget, label, err.splitlines()[-1][:90]))
                continue
            peak, act, t, plan = r
            print("%-18d %-10s %16d %16d %10.3f %8.1f%%  %s" % (budget, label, peak, act, t,
                                                               100 * (t / t0 - 1), plan), flush=True)


if __name__ == "__main__":
    main()
