#!/usr/bin/python3
"""Tessera data parallelism vs PyTorch DistributedDataParallel: 2 ranks x 1 thread (issue 5).

Side by side in one run, on GPT-small and GPT-base (bench/gpt_bench.py's CONFIGS, model and
weight reader — imported, not copied), the same initial weights (the zoo model written as a .tpb,
read into PyTorch), AdamW (lr 1e-3, torch's defaults) and the same global batch:
  pytorch-ddp   `mpirun -np 2 /usr/bin/python3 ddp_bench.py --ddp-worker ...`: gloo backend, a
                tcp://127.0.0.1:PORT init (rank and world size from OMPI_COMM_WORLD_RANK/SIZE;
                Debian's torchrun does not work here), torch.set_num_threads(1), each rank half of
                the global batch, DistributedDataParallel's bucketed overlapped all-reduce;
  tessera dp=2  `tessera train MODEL.tpb -np 2 --mesh dp=2 --parallel dp` (async start/done
                collectives with 4 MiB gradient buckets, the default);
  tessera dp=2 blocking   the same with TESSERA_DIST_ASYNC=0 (every collective blocks where the
                program has it): its exposed wait is the communication's whole time;
  tessera tp=2  `--mesh tp=2 --parallel megatron` (and its blocking run).
Tessera ranks run one engine thread each (`tessera run` sets it; its OpenBLAS calls are
single-threaded); OPENBLAS_NUM_THREADS=OMP_NUM_THREADS=1 for every process of both sides.

Reported per configuration: median step time over the steps after --warmup, tokens/s of the
global batch, the ratio to PyTorch DDP (issue 5's target: dp=2 at least 1.5x), and for Tessera
the median exposed communication per step (rank 0's time blocked waiting on collectives plus
packing/reducing their buffers, from the engine's DistStats in the --log-json records) and the
share of the blocking run's communication that the async schedule hides:
1 - exposed(async) / exposed(blocking).

Run by scripts/bench.sh, or by hand:
  /usr/bin/python3 bench/ddp_bench.py --tessera build/tessera [--configs gpt-small] [--steps 8]
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
def tessera_run(args, cfg, model_path, d, mesh, presets, blocking):
    log = os.path.join(d, "tessera-%s-%s.jsonl" % (mesh, "blocking" if blocking else "async"))
    cmd = [args.tessera, "train", model_path, "-np", str(RANKS), "--mesh", mesh, "--parallel",
           presets, "--batch", str(cfg["batch"]), "--seq", str(cfg["seq"]), "--optimizer",
           "adamw", "--lr", "1e-3", "--steps", str(args.steps), "--log-json", log, "--quiet"]
    env = bench_env({"TESSERA_DIST_ASYNC": "0"} if blocking else None)
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
            ddp = median_after(pytorch_ddp(args, name, model, d), args.warmup)
            print("%s pytorch-ddp step %.3f s" % (name, ddp), flush=True)
            rows.append((name, "pytorch DDP (gloo)", ddp, tokens / ddp, 1.0, None, None, None))
            setups = [("dp=2", "dp=2", "dp")]
            if not args.no_tp:
                setups.append(("tp=2", "tp=2", "megatron"))
            for label, mesh, presets in setups:
                fig = {}
                for blocking in (False, True):
                    recs = tessera_run(args, cfg, model, d, mesh, presets, blocking)
                    step = median_after([r["step_time_s"] for r in recs], args.warmup)
                    # On the rank's critical path: blocked waiting, plus packing/reducing.
                    exposed = median_after([r.get("comm_exposed_s", 0.0) +
                                            r.get("comm_issue_s", 0.0) for r in recs],
                                           args.warmup)
                    calls = recs[-1].get("comm_calls", 0)
                    fig[blocking] = (step, exposed, calls)
                    print("%s tessera %s%s step %.3f s, exposed communication %.1f ms, %d calls"
                          % (name, label, " blocking" if blocking else "", step, 1e3 * exposed,
                             calls), flush=True)
                step, exposed, calls = fig[False]
                total = fig[True][1]
                hidden = 100.0 * (1.0 - exposed / total) if total > 0 else float("nan")
                rows.append((name, "tessera " + label, step, tokens / step, ddp / step,
                             exposed, total, hidden))
    print()
    print("torch %s, %d ranks x 1 thread, global batch per config as gpt_bench.py, AdamW; "
          "medians of steps %d..%d" % (torch.__version__, RANKS, args.warmup + 1, args.steps))
    print("%-10s %-20s %10s %10s %9s %14s %14s %8s" % (
        "config", "system", "step s", "tok/s", "vs DDP", "exposed ms", "blocking ms", "hidden"))
    for (name, system, step, tps, ratio, exposed, total, hidden) in rows:
        comm = ("%14.1f %14.1f %7.0f%%" % (1e3 * exposed, 1e3 * total, hidden)
                if exposed is not None else "%14s %14s %8s" % ("-", "-", "-"))
        print("%-10s %-20s %10.3f %10.0f %8.2fx %s" % (name, system, step, tps, ratio, comm))
    print("exposed: rank 0's median communication on the critical path per step (blocked in "
          "collective waits + packing/reducing), async schedule; blocking: the same with every "
          "collective blocking (TESSERA_DIST_ASYNC=0), i.e. the whole communication time; "
          "hidden = 1 - exposed/blocking.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
