#!/usr/bin/python3
"""Tessera data parallelism vs PyTorch DistributedDataParallel: 2 ranks x 1 thread (issue 5).

Side by side in one run, on GPT-small and GPT-base (bench/gpt_bench.py's CONFIGS, model and
weight reader — imported, not copied), the same initial weights (the zoo model written as a .tpb,
read into PyTorch), AdamW (lr 1e-3, torch's defaults) and the same global batch:
  pytorch-ddp   `mpirun -np 2 /usr/bin/python3 ddp_bench.py --ddp-worker ...`: gloo backend, a
                tcp://127.0.0.1:PORT init (rank and world size from OMPI_COMM_WORLD_RANK/SIZE;
                Debian's torchrun does not work here), torch.set_num_threads(1), each rank half of
                the global batch, DistributedDataParallel's bucketed overlapped all-reduce;
  tessera dp=2  `tessera train MODEL.tpb -np 2 --mesh dp=2 --parallel dp`: blocking collectives,
                the CPU default (codegen/dist/DistDefaults.h);
  tessera dp=2 async   the same with TESSERA_DIST_ASYNC=1 (start/done schedule, 4 MiB buckets);
  tessera dp=2 zero1   `--zero 1` (optimizer state sharded: each rank updates half the weights);
  tessera tp=2  `--mesh tp=2 --parallel megatron` (and its async run).
Tessera ranks run one engine thread each (`tessera run` sets it; its OpenBLAS calls are
single-threaded); OPENBLAS_NUM_THREADS=OMP_NUM_THREADS=1 for every process of both sides.

A/B on a shared machine: --rounds R runs every system R times, interleaved (round 1: DDP, every
Tessera setup; round 2: the same ...), and pools the steps after --warmup of every round, so
that a burst of machine noise lands on all systems alike. Reported per system: median step
time, tokens/s of the global batch, the ratio to PyTorch DDP (issue 5's target: dp=2 at least
1.5x), and for Tessera, rank 0's median per step of
  exposed   time blocked in collective waits + packing/reducing (on the critical path);
  in flight the collectives' time from issue to completion;
  hidden    the part of that time the rank spent running other thunks rather than blocked in
            the wait (DistStats::overlappedSeconds) — the communication that really ran under
            compute; shown as ms and as a share of in flight. Blocking collectives hide nothing
            by construction. (A CPU rank's packing and reduction use its own core: never hidden.)

Run by scripts/bench.sh, or by hand:
  /usr/bin/python3 bench/ddp_bench.py --tessera build/tessera [--configs gpt-small] [--steps 8]
      [--rounds 3] [--no-tp] [--no-zero]
Timings on a machine that is busy with other work are noise; compare on a quiet machine.
"""
import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gpt_bench  # noqa: E402  (CONFIGS, read_params, make_torch_gpt, train_flops_per_step)

RANKS = 2
ROOT_ENV = {"OMPI_ALLOW_RUN_AS_ROOT": "1", "OMPI_ALLOW_RUN_AS_ROOT_CONFIRM": "1"}
ONE_THREAD_ENV = {"OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def bench_env(extra=None):
    env = dict(os.environ)
    for var in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):
        env.pop(var, None)
    env.update(ROOT_ENV)
    env.update(ONE_THREAD_ENV)
    env.update(extra or {})
    return env


# --- PyTorch DDP: one rank, started by mpirun ----------------------------------------------
def ddp_worker(cfg_name, model_path, steps, port, out_path):
    import torch
    import torch.distributed as dist
    from torch.nn.parallel import DistributedDataParallel as DDP

    rank = int(os.environ["OMPI_COMM_WORLD_RANK"])
    world = int(os.environ["OMPI_COMM_WORLD_SIZE"])
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method="tcp://127.0.0.1:%d" % port, rank=rank,
                            world_size=world)
    cfg = gpt_bench.CONFIGS[cfg_name]
    batch, seq, vocab = cfg["batch"], cfg["seq"], cfg["vocab"]
    if batch % world:
        raise SystemExit("global batch %d is not divisible by %d ranks" % (batch, world))
    local = batch // world
    model = DDP(gpt_bench.make_torch_gpt(cfg, gpt_bench.read_params(model_path)))
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    # Every rank draws the same global batch and takes its rows (as Tessera's ranks do).
    g = torch.Generator().manual_seed(1)
    times, losses = [], []
    for _ in range(steps):
        tokens = torch.randint(0, vocab, (batch, seq), generator=g)
        targets = torch.randint(0, vocab, (batch, seq), generator=g)
        mine = slice(rank * local, (rank + 1) * local)
        dist.barrier()
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        loss = model(tokens[mine], targets[mine])
        loss.backward()  # DDP all-reduces the gradient buckets as they become ready
        opt.step()
        times.append(time.perf_counter() - t0)
        losses.append(loss.item())
    dist.destroy_process_group()
    if rank == 0:
        with open(out_path, "w") as f:
            json.dump({"times": times, "losses": losses}, f)


def pytorch_ddp(args, cfg_name, model_path, d):
    out = os.path.join(d, "ddp.json")
    cmd = [args.mpirun, "-np", str(RANKS), "--oversubscribe", "/usr/bin/python3",
           os.path.abspath(__file__), "--ddp-worker", cfg_name, model_path, str(args.steps),
           str(free_port()), out]
    subprocess.run(cmd, check=True, env=bench_env())
    with open(out) as f:
        return json.load(f)["times"]


# --- Tessera: tessera train -np 2 -----------------------------------------------------------
def tessera_run(args, cfg, model_path, d, mesh, presets, extra, asynchronous):
    log = os.path.join(d, "tessera-%s.jsonl" % time.monotonic_ns())
    cmd = [args.tessera, "train", model_path, "-np", str(RANKS), "--mesh", mesh, "--parallel",
           presets, "--batch", str(cfg["batch"]), "--seq", str(cfg["seq"]), "--optimizer",
           "adamw", "--lr", "1e-3", "--steps", str(args.steps), "--log-json", log,
           "--quiet"] + extra
    env = bench_env({"TESSERA_DIST_ASYNC": "1" if asynchronous else "0"})
    subprocess.run(cmd, check=True, env=env)
    with open(log) as f:
        recs = [json.loads(line) for line in f if line.strip()]
    return recs


def median_after(values, warmup):
    rest = values[warmup:] or values
    return statistics.median(rest)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tessera", default="build/tessera")
    ap.add_argument("--mpirun", default="mpirun")
    ap.add_argument("--configs", default="gpt-small,gpt-base")
    ap.add_argument("--steps", type=int, default=8)
    ap.add_argument("--warmup", type=int, default=2, help="steps left out of the medians")
    ap.add_argument("--no-tp", action="store_true", help="skip the tp=2 runs")
    ap.add_argument("--no-zero", action="store_true", help="skip the dp=2 --zero 1 run")
    ap.add_argument("--no-async", action="store_true", help="skip the async (overlap) runs")
    ap.add_argument("--rounds", type=int, default=1, help="interleaved repetitions of every run")
    ap.add_argument("--ddp-worker", nargs=5, metavar=("CONFIG", "MODEL", "STEPS", "PORT", "OUT"),
                    help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.ddp_worker:
        name, model, steps, port, out = args.ddp_worker
        ddp_worker(name, model, int(steps), int(port), out)
        return 0
    if args.steps <= args.warmup:
        ap.error("--steps must exceed --warmup")
    import torch
    # (label, mesh, presets, extra flags, async)
    setups = [("dp=2", "dp=2", "dp", [], False)]
    if not args.no_async:
        setups.append(("dp=2 async", "dp=2", "dp", [], True))
    if not args.no_zero:
        setups.append(("dp=2 zero1", "dp=2", "dp", ["--zero", "1"], False))
    if not args.no_tp:
        setups.append(("tp=2", "tp=2", "megatron", [], False))
        if not args.no_async:
            setups.append(("tp=2 async", "tp=2", "megatron", [], True))
    rows = []
    for name in args.configs.split(","):
        cfg = gpt_bench.CONFIGS[name]
        tokens = cfg["batch"] * cfg["seq"]
        with tempfile.TemporaryDirectory() as d:
            model = os.path.join(d, name + ".tpb")
            subprocess.run([args.tessera, "zoo", "gpt", "--layers=%d" % cfg["layers"],
                            "--hidden=%d" % cfg["hidden"], "--heads=%d" % cfg["heads"],
                            "--seq=%d" % cfg["seq"], "--vocab=%d" % cfg["vocab"], "-o", model],
                           check=True, stdout=subprocess.DEVNULL)
            ddp_steps = []
            recs = {s[0]: [] for s in setups}
            for rnd in range(args.rounds):
                times = pytorch_ddp(args, name, model, d)
                ddp_steps += times[args.warmup:] or times
                print("%s round %d pytorch-ddp step %.3f s" % (
                    name, rnd + 1, median_after(times, args.warmup)), flush=True)
                for label, mesh, presets, extra, asynchronous in setups:
                    r = tessera_run(args, cfg, model, d, mesh, presets, extra, asynchronous)
                    recs[label] += r[args.warmup:] or r
                    print("%s round %d tessera %s step %.3f s" % (
                        name, rnd + 1, label, median_after([x["step_time_s"] for x in r],
                                                           args.warmup)), flush=True)
            ddp = statistics.median(ddp_steps)
            rows.append((name, "pytorch DDP (gloo)", ddp, tokens / ddp, 1.0, None))
            for label, *_ in setups:
                rs = recs[label]
                med = lambda key: statistics.median([x.get(key, 0.0) for x in rs])
                step = med("step_time_s")
                exposed = statistics.median([x.get("comm_exposed_s", 0.0) +
                                             x.get("comm_issue_s", 0.0) for x in rs])
                comm = (exposed, med("comm_inflight_s"), med("comm_overlapped_s"),
                        rs[-1].get("comm_calls", 0))
                rows.append((name, "tessera " + label, step, tokens / step, ddp / step, comm))
    print()
    print("torch %s, %d ranks x 1 thread, global batch per config as gpt_bench.py, AdamW; "
          "medians of steps %d..%d pooled over %d interleaved round(s)" % (
              torch.__version__, RANKS, args.warmup + 1, args.steps, args.rounds))
    print("%-10s %-20s %9s %9s %8s %11s %11s %16s %6s" % (
        "config", "system", "step s", "tok/s", "vs DDP", "exposed ms", "inflight ms",
        "hidden ms (%)", "calls"))
    for (name, system, step, tps, ratio, comm) in rows:
        if comm is None:
            tail = "%11s %11s %16s %6s" % ("-", "-", "-", "-")
        else:
            exposed, inflight, hidden, calls = comm
            share = 100.0 * hidden / inflight if inflight > 0 else 0.0
            tail = "%11.1f %11.1f %9.1f (%3.0f%%) %6d" % (1e3 * exposed, 1e3 * inflight,
                                                         1e3 * hidden, share, calls)
        print("%-10s %-20s %9.3f %9.0f %7.2fx %s" % (name, system, step, tps, ratio, tail))
    print("exposed: rank 0's communication on the critical path per step (blocked in collective "
          "waits + packing/reducing); inflight: issue to completion of its collectives; hidden: "
          "the part of inflight spent running other thunks (blocking: none by construction).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
