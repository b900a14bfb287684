#!/usr/bin/python3
"""Pipeline parallelism on this CPU (issue 6's measurement): GPT under `tessera train -np P --mesh pp=P`
against one device and against dp=2.

For each schedule and micro-batch count it runs `--steps` steps and takes the median step time
after the first (warm-up, compilation). The measured bubble is the pipeline's step time over the
ideal one, the single-device step time split evenly over the p ranks:
    bubble_measured = T_pp / (T_1 / p) - 1
against the theory (p-1)/m (GPipe, 1F1B) or (p-1)/(v m) (interleaved). The measured value also
holds the communication and the per-micro-batch overheads the theory leaves out (and, with
pp=4 on 2 cores, oversubscription: only the shape of the curve means something there).
Tokens/s are compared with dp=2 on the same model and global batch.

Per-stage peak memory against the planner is not measured yet (no per-stage --memory-report).

Run:  /usr/bin/python3 bench/pipeline_bench.py --tessera build/tessera [--config gpt-base]
      (--config tiny: a few seconds, to check that the script works)
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

CONFIGS = {
    "tiny": dict(layers=4, hidden=32, heads=2, seq=16, batch=8, vocab=256),
    "gpt-base": dict(layers=12, hidden=768, heads=12, seq=256, batch=8, vocab=512),
}


def run(tessera, cfg, steps, extra, np_=0):
    with tempfile.TemporaryDirectory() as d:
        log = os.path.join(d, "log.json")
        cmd = [tessera, "train", "gpt", "--steps", str(steps), "--batch", str(cfg["batch"]),
               "--seq", str(cfg["seq"]), "--log-json", log, "--quiet"]
        if np_:
            cmd += ["-np", str(np_)]
        cmd += extra
        cmd += ["--layers", str(cfg["layers"]), "--hidden", str(cfg["hidden"]),
                "--heads", str(cfg["heads"]), "--vocab", str(cfg["vocab"])]
        env = dict(os.environ, OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1")
        r = subprocess.run(cmd, capture_output=True, text=True, env=env)
        if r.returncode != 0:
            sys.exit("failed: %s\n%s%s" % (" ".join(cmd), r.stdout, r.stderr))
        recs = [json.loads(line) for line in open(log) if line.strip()]
        times = [x["step_time_s"] for x in recs[1:]] or [recs[0]["step_time_s"]]
        return statistics.median(times), recs[-1]["loss"]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tessera", default="build/tessera")
    ap.add_argument("--config", default="gpt-base", choices=sorted(CONFIGS))
    ap.add_argument("--steps", type=int, default=6)
    args = ap.parse_args()
    cfg = CONFIGS[args.config]
    tok = cfg["batch"] * cfg["seq"]
    print("pipeline bench: gpt %s, batch %d x %d tokens, %d steps (median after the first)"
          % (args.config, cfg["batch"], cfg["seq"], args.steps))
    t1, _ = run(args.tessera, cfg, args.steps, [])
    tdp, _ = run(args.tessera, cfg, args.steps, ["--mesh", "dp=2", "--parallel", "dp"], 2)
    print("%-34s %10s %10s %9s %9s" % ("run", "s/step", "tok/s", "bubble", "theory"))
    print("%-34s %10.4f %10.0f" % ("1 device", t1, tok / t1))
    print("%-34s %10.4f %10.0f" % ("dp=2", tdp, tok / tdp))
    for p in (2, 4):
        for sched, m, v in (("gpipe", 4, 1), ("1f1b", 4, 1), ("1f1b", 8, 1), ("interleaved", 4, 2)):
            if cfg["batch"] % m or p * v > cfg["layers"]:
                continue
            extra = ["--mesh", "pp=%d" % p, "--schedule", sched, "--micro-batches", str(m)]
            if v > 1:
                extra += ["--virtual-stages", str(v)]
            t, _ = run(args.tessera, cfg, args.steps, extra, p)
            theory = (p - 1) / (v * m)
            name = "pp=%d %s M=%d%s" % (p, sched, m, " V=%d" % v if v > 1 else "")
            print("%-34s %10.4f %10.0f %9.3f %9.3f" % (name, t, tok / t, t / (t1 / p) - 1, theory))
    print("resolution: step times are medians of %d steps on a shared machine; pp=4 runs 4 ranks "
          "on 2 cores (oversubscribed)" % max(1, args.steps - 1))


if __name__ == "__main__":
    main()
