#!/usr/bin/python3
"""Tessera vs PyTorch eager: training-step throughput of a GPT on this CPU (issue 4's benchmark).

Both sides train the same model from the same initial weights with AdamW (torch.optim defaults,
lr 1e-3): Tessera's zoo `gpt` (pre-LayerNorm, tied embedding) is written as a .tpb module, its
initial weights are read from that file into an identical PyTorch module, and each side runs
`--steps` steps. Step times are medians over the steps after the first (warm-up, compilation).
`--rounds` (default 3) repeats the pair PyTorch / Tessera in alternating order, minutes apart;
the table gives each side's median over the rounds and the median of the per-round ratios (this
host's two vCPUs drift between one and two cores' worth of throughput within minutes, so one
back-to-back pair can mislead either way).
PyTorch runs at every combination of its intra-op thread count (torch.set_num_threads) and
OpenBLAS's own thread count (OPENBLAS_NUM_THREADS; Debian's torch calls the system OpenBLAS for
its GEMMs, whose threads torch.set_num_threads does not govern), each in its own process; its
best is the reference. The FMA microbenchmark (bench/fma_peak) gives the machine's FP32 peak in
the same run: the best of three runs, since a peak is a maximum and this machine's host is shared.

GEMM-bound tok/s: a floor on Tessera's step time that no kernel work can lower. One extra short
run with TESSERA_PROFILE=1 lists the step's GEMMs by shape (codegen/runtime/ThunkProfile.h);
bench/kernel_bench --gemm times each shape alone, the better of Tessera's default GEMM (its own
sgemm on AVX2 + FMA hosts) and OpenBLAS's own threading, median of 15 interleaved runs; the step's
GEMM time at those speeds bounds its tokens/s. A ratio target above tokens/GEMM-bound-time /
PyTorch cannot be met without faster GEMMs than these for these shapes.

Run by scripts/bench.sh (which builds and installs python3-torch), or by hand:
  /usr/bin/python3 bench/gpt_bench.py --tessera build/tessera --fma build/bench/fma_peak
Environment: OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE are removed for both sides.
"""
import argparse
import json
import math
import re
import os
import statistics
import struct
import subprocess
import sys
import tempfile
import time

CONFIGS = {
    "gpt-small": dict(layers=4, hidden=256, heads=4, seq=128, batch=8, vocab=256),
    "gpt-base": dict(layers=12, hidden=768, heads=12, seq=256, batch=4, vocab=512),
}


# --- the .tpb reader: just enough of the protobuf wire format for Module.params -------------
def _varint(b, i):
    v = s = 0
    while True:
        c = b[i]
        i += 1
        v |= (c & 0x7F) << s
        s += 7
        if c < 0x80:
            return v, i


def _fields(b):
    i = 0
    while i < len(b):
        key, i = _varint(b, i)
        field, wire = key >> 3, key & 7
        if wire == 0:
            v, i = _varint(b, i)
        elif wire == 1:
            v, i = b[i:i + 8], i + 8
        elif wire == 5:
            v, i = b[i:i + 4], i + 4
        elif wire == 2:
            n, i = _varint(b, i)
            v, i = b[i:i + n], i + n
        else:
            raise ValueError("unsupported wire type %d" % wire)
        yield field, wire, v


def read_params(path):
    """name -> (shape, float32 bytes) for every parameter with an initial value."""
    import numpy as np
    params = {}
    with open(path, "rb") as f:
        data = f.read()
    for field, _, v in _fields(data):
        if field != 4:  # Module.params
            continue
        name, init = None, None
        for pf, _, pv in _fields(v):
            if pf == 1:
                name = pv.decode()
            elif pf == 5:
                init = pv
        if init is None:
            continue
        dtype, shape, raw, splat = 0, [], b"", False
        for tf, tw, tv in _fields(init):
            if tf == 1:
                dtype = tv
            elif tf == 2:
                if tw == 2:  # packed
                    j = 0
                    while j < len(tv):
                        x, j = _varint(tv, j)
                        shape.append(x)
                else:
                    shape.append(tv)
            elif tf == 3:
                raw = tv
            elif tf == 4:  # splat: `raw` is one element repeated over the shape
                splat = bool(tv)
        if dtype == 0:
            values = np.frombuffer(raw, dtype="<f4")
            if splat:
                params[name] = np.full(shape, values[0], dtype=np.float32)
            else:
                params[name] = values.reshape(shape).copy()
    return params


# --- the PyTorch model, layer for layer the zoo's gpt ------------------------------------
def make_torch_gpt(cfg, params):
    import torch
    import torch.nn as nn
    import torch.nn.functional as F

    H, nh = cfg["hidden"], cfg["heads"]

    def P(name):
        return nn.Parameter(torch.from_numpy(params[name]))

    class Block(nn.Module):
        def __init__(self, p):
            super().__init__()
            self.ln1_w, self.ln1_b = P(p + ".ln1.scale"), P(p + ".ln1.bias")
            self.qkv_w, self.qkv_b = P(p + ".attn.qkv.w"), P(p + ".attn.qkv.b")
            self.proj_w, self.proj_b = P(p + ".attn.proj.w"), P(p + ".attn.proj.b")
            self.ln2_w, self.ln2_b = P(p + ".ln2.scale"), P(p + ".ln2.bias")
            self.fc_w, self.fc_b = P(p + ".mlp.fc.w"), P(p + ".mlp.fc.b")
            self.out_w, self.out_b = P(p + ".mlp.proj.w"), P(p + ".mlp.proj.b")

        def forward(self, x, mask):
            b, s, h = x.shape
            hd = h // nh
            a = F.layer_norm(x, (h,), self.ln1_w, self.ln1_b, 1e-5)
            q, k, v = (a @ self.qkv_w + self.qkv_b).split(h, dim=2)
            q = q.reshape(b, s, nh, hd).transpose(1, 2)
            k = k.reshape(b, s, nh, hd).transpose(1, 2)
            v = v.reshape(b, s, nh, hd).transpose(1, 2)
            att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(hd))
            att = att.masked_fill(~mask, -1e9)
            att = F.softmax(att, dim=-1)
            y = (att @ v).transpose(1, 2).reshape(b, s, h)
            x = x + y @ self.proj_w + self.proj_b
            m = F.layer_norm(x, (h,), self.ln2_w, self.ln2_b, 1e-5)
            return x + F.gelu(m @ self.fc_w + self.fc_b) @ self.out_w + self.out_b

    class GPT(nn.Module):
        def __init__(self):
            super().__init__()
            self.wte, self.wpe = P("wte"), P("wpe")
            self.blocks = nn.ModuleList([Block("h%d" % i) for i in range(cfg["layers"])])
            self.lnf_w, self.lnf_b = P("lnf.scale"), P("lnf.bias")

        def forward(self, tokens, targets):
            s = tokens.shape[1]
            mask = torch.tril(torch.ones(s, s, dtype=torch.bool))
            x = self.wte[tokens] + self.wpe[:s]
            for blk in self.blocks:
                x = blk(x, mask)
            x = F.layer_norm(x, (H,), self.lnf_w, self.lnf_b, 1e-5)
            logits = x.reshape(-1, H) @ self.wte.t()
            return F.cross_entropy(logits, targets.reshape(-1))

    return GPT()


def torch_step_times(cfg, params, steps, threads):
    import torch
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    model = make_torch_gpt(cfg, params)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3)
    g = torch.Generator().manual_seed(1)
    times, losses = [], []
    for _ in range(steps):
        tokens = torch.randint(0, cfg["vocab"], (cfg["batch"], cfg["seq"]), generator=g)
        targets = torch.randint(0, cfg["vocab"], (cfg["batch"], cfg["seq"]), generator=g)
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        loss = model(tokens, targets)
        loss.backward()
        opt.step()
        times.append(time.perf_counter() - t0)
        losses.append(loss.item())
    return times, losses


def tessera_step_times(tessera, model_path, cfg, steps, extra, profile=False):
    with tempfile.TemporaryDirectory() as d:
        log = os.path.join(d, "log.jsonl")
        cmd = [tessera, "train", model_path, "--steps", str(steps), "--batch", str(cfg["batch"]),
               "--seq", str(cfg["seq"]), "--optimizer", "adamw", "--lr", "1e-3",
               "--log-json", log, "--quiet"] + extra
        env = dict(os.environ)
        if profile:
            env["TESSERA_PROFILE"] = "1"
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, check=True, env=env, stderr=subprocess.PIPE, text=True)
        wall = time.perf_counter() - t0
        if profile:
            return proc.stderr
        sys.stderr.write(proc.stderr)
        with open(log) as f:
            recs = [json.loads(line) for line in f if line.strip()]
    return [r["step_time_s"] for r in recs], [r["loss"] for r in recs], wall


def train_flops_per_step(cfg):
    """Model FLOPs of one training step (forward + backward = 3x forward; no recompute)."""
    L, H, S, B, V = cfg["layers"], cfg["hidden"], cfg["seq"], cfg["batch"], cfg["vocab"]
    tokens = B * S
    per_token_fwd = L * (2 * (3 * H * H + H * H + 8 * H * H) + 4 * S * H) + 2 * H * V
    return 3 * per_token_fwd * tokens


_GEMM_LINE = re.compile(r"^\s+(\d+)x (\d+)x(\d+)x(\d+)x(\d+)( A\^T)?( B\^T)?\s")


def step_gemms(profile_text):
    """[(count, batch, m, n, k, transA, transB)] from a TESSERA_PROFILE report."""
    out, on = [], False
    for line in profile_text.splitlines():
        if "GEMMs by shape" in line:
            on = True
            continue
        if on:
            mt = _GEMM_LINE.match(line)
            if not mt:
                break
            c, b, m, n, k = (int(mt.group(i)) for i in range(1, 6))
            out.append((c, b, m, n, k, bool(mt.group(6)), bool(mt.group(7))))
    return out


def gemm_bound_seconds(kernel_bench, gemms, threads):
    """Sum over the step's GEMMs of flops / the best measured GFLOP/s of that shape."""
    specs = ["%dx%dx%dx%d%s%s" % (b, m, n, k, ":AT" if ta else "", ":BT" if tb else "")
             for (_, b, m, n, k, ta, tb) in gemms]
    out = subprocess.run([kernel_bench, "--gemm", ",".join(specs), "--threads", str(threads),
                          "--reps", "15"], check=True, capture_output=True, text=True).stdout
    best = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) > 9 and parts[0] == "gemm" and parts[8] == "best":
            best[parts[1]] = float(parts[9]) * 1e9
    total = 0.0
    for spec, (c, b, m, n, k, _, _) in zip(specs, gemms):
        total += c * 2.0 * b * m * n * k / best[spec]
    return total, out


def fma_peak(fma, runs=3):
    peak = {}
    for _ in range(runs):
        out = subprocess.run([fma], check=True, capture_output=True, text=True).stdout
        for line in out.splitlines():
            if "threads=" in line:
                parts = dict(kv.split("=") for kv in line.split()[1:])
                t = int(parts["threads"])
                peak[t] = max(peak.get(t, 0.0), float(parts["gflops"]))
    return peak


def merge_peak(a, b):
    return {t: max(a.get(t, 0.0), b.get(t, 0.0)) for t in set(a) | set(b)}


def torch_step_times_in_process(cfg_name, params_path, steps, threads, blas_threads):
    """torch_step_times in a fresh process with OPENBLAS_NUM_THREADS=blas_threads (OpenBLAS reads
    it once, when it is loaded)."""
    env = dict(os.environ, OPENBLAS_NUM_THREADS=str(blas_threads))
    out = subprocess.run([sys.executable, os.path.abspath(__file__), "--torch-worker", cfg_name,
                          params_path, str(steps), str(threads)],
                         check=True, capture_output=True, text=True, env=env).stdout
    return json.loads(out.strip().splitlines()[-1])["times"]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--tessera", default="build/tessera")
    ap.add_argument("--fma", default="build/bench/fma_peak")
    ap.add_argument("--kernel-bench", default="build/bench/kernel_bench",
                    help="for the GEMM-bound column (skipped when missing)")
    ap.add_argument("--configs", default="gpt-small,gpt-base")
    ap.add_argument("--steps", type=int, default=6)
    ap.add_argument("--rounds", type=int, default=3,
                    help="PyTorch/Tessera pairs per config, alternating order (medians reported)")
    ap.add_argument("--tessera-args", default="", help="extra flags for tessera train")
    ap.add_argument("--torch-worker", nargs=4, metavar=("CONFIG", "MODEL", "STEPS", "THREADS"),
                    help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.torch_worker:
        name, model, steps, threads = args.torch_worker
        times, _ = torch_step_times(CONFIGS[name], read_params(model), int(steps), int(threads))
        print(json.dumps({"times": times}))
        return 0
    for var in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):
        os.environ.pop(var, None)
    import torch
    cores = os.cpu_count() or 1
    peak = fma_peak(args.fma)
    top = peak.get(cores, max(peak.values()))
    print("FP32 peak (FMA microbenchmark): " +
          ", ".join("%d thread(s) %.1f GFLOP/s" % kv for kv in sorted(peak.items())))
    rows = []
    for name in args.configs.split(","):
        cfg = CONFIGS[name]
        with tempfile.TemporaryDirectory() as d:
            model = os.path.join(d, name + ".tpb")
            subprocess.run([args.tessera, "zoo", "gpt", "--layers=%d" % cfg["layers"],
                            "--hidden=%d" % cfg["hidden"], "--heads=%d" % cfg["heads"],
                            "--seq=%d" % cfg["seq"], "--vocab=%d" % cfg["vocab"], "-o", model],
                           check=True)
            # Round 1 tries every PyTorch thread setting; later rounds run PyTorch's best one
            # and Tessera again, in alternating order, so both sides see the same moods of this
            # host (its throughput drifts within minutes; see the docstring).
            setting, torch_meds, tessera_meds, ratios = None, [], [], []
            for rnd in range(args.rounds):
                if rnd > 0:
                    peak = merge_peak(peak, fma_peak(args.fma, runs=1))
                def run_torch():
                    nonlocal setting
                    tried = ([(t, b) for t in range(1, cores + 1) for b in range(1, cores + 1)]
                             if setting is None else [setting])
                    best_here = None
                    for t, b in tried:
                        times = torch_step_times_in_process(name, model, args.steps, t, b)
                        med = statistics.median(times[1:])
                        print("%s round %d pytorch threads=%d openblas-threads=%d step %.3f s"
                              % (name, rnd + 1, t, b, med), flush=True)
                        if best_here is None or med < best_here[0]:
                            best_here = (med, (t, b))
                    setting = setting or best_here[1]
                    return best_here[0]
                def run_tessera():
                    ttimes, _, wall = tessera_step_times(args.tessera, model, cfg, args.steps,
                                                         args.tessera_args.split())
                    med = statistics.median(ttimes[1:])
                    print("%s round %d tessera step %.3f s (first step %.3f s, process wall "
                          "%.2f s)" % (name, rnd + 1, med, ttimes[0], wall), flush=True)
                    return med
                if rnd % 2 == 0:
                    pmed, tm = run_torch(), run_tessera()
                else:
                    tm, pmed = run_tessera(), run_torch()
                torch_meds.append(pmed)
                tessera_meds.append(tm)
                ratios.append(pmed / tm)
            best = statistics.median(torch_meds)
            tmed = statistics.median(tessera_meds)
            print("%s over %d rounds: pytorch %s s, tessera %s s, ratio per round %s (median "
                  "%.2fx)" % (name, args.rounds, " ".join("%.3f" % x for x in torch_meds),
                              " ".join("%.3f" % x for x in tessera_meds),
                              " ".join("%.2f" % x for x in ratios), statistics.median(ratios)),
                  flush=True)
            bound = float("nan")
            if os.path.exists(args.kernel_bench):
                prof = tessera_step_times(args.tessera, model, cfg, 3, args.tessera_args.split(),
                                          profile=True)
                print(prof, end="", flush=True)
                gemms = step_gemms(prof)
                if gemms:
                    secs, out = gemm_bound_seconds(args.kernel_bench, gemms, cores)
                    print(out, end="")
                    bound = secs
                    print("%s GEMM-bound step %.3f s (%d GEMM shapes at their best measured "
                          "GFLOP/s)" % (name, secs, len(gemms)), flush=True)
        tokens = cfg["batch"] * cfg["seq"]
        flops = train_flops_per_step(cfg)
        top = peak.get(cores, max(peak.values()))
        rows.append((name, tokens / best, tokens / tmed, statistics.median(ratios),
                     flops / tmed / 1e9, 100.0 * flops / tmed / 1e9 / top, tokens / bound,
                     best / bound))
    print()
    print("FP32 peak over the whole run (best of every FMA run): " +
          ", ".join("%d thread(s) %.1f GFLOP/s" % kv for kv in sorted(peak.items())))
    print("torch %s, %d cores; OPENBLAS_CORETYPE/OPENBLAS_L2_SIZE unset for both sides"
          % (torch.__version__, cores))
    print("%-10s %16s %16s %7s %10s %8s %20s %12s" % (
        "config", "PyTorch tok/s", "Tessera tok/s", "ratio", "GFLOP/s", "% peak",
        "GEMM-bound tok/s", "bound ratio"))
    for r in rows:
        print("%-10s %16.0f %16.0f %6.2fx %10.1f %7.1f%% %20.0f %11.2fx" % r)
    print("GEMM-bound: the step's GEMMs alone, each at the better measured speed of Tessera's "
          "default GEMM and OpenBLAS on %d threads; no Tessera step can beat it without faster "
          "GEMMs." % cores)


if __name__ == "__main__":
    sys.exit(main())
