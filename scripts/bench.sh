#!/usr/bin/env bash
# Runs the benchmarks of bench/ against their peers (not part of the test command): sets up and
# builds like scripts/setup.sh, installs the peers' Debian packages (python3-torch), then runs
#   bench/fma_peak            the machine's FP32 peak (FMA microbenchmark)
#   bench/gpt_bench.py        Tessera vs PyTorch eager, GPT-small and GPT-base training steps
#   bench/remat_curve.py      remat=auto on GPT-base: budget, planned peak, step time (runs
#                             bench/remat_ab: both engines in one process, steps interleaved)
#   bench/ddp_bench.py        Tessera dp=2 / tp=2 vs PyTorch DDP (gloo), 2 ranks x 1 thread
#   bench/sim_vs_measured.py  the simulator's predicted step time vs measured, 2 and 4 CPU ranks
#   bench/pipeline_bench.py   pipeline schedules: bubble vs theory, per-rank memory, vs dp=2
#   bench/gemm_ab.py          whole steps with OpenBLAS vs Tessera's own sgemm, alternated
# Arguments are passed to gpt_bench.py (e.g. --configs gpt-small --steps 8).
# OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE are unset for every side alike.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
if ! dpkg-query -W -f='${Status}' python3-torch 2>/dev/null | grep -q "install ok installed"; then
  if [[ $(id -u) -ne 0 ]]; then
    echo "bench: python3-torch (the PyTorch peer) is missing and installing it needs root" >&2
    exit 1
  fi
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3-torch
fi
cmake --build build --target fma_peak kernel_bench cpu_calibrate comm_bench remat_ab
unset OPENBLAS_CORETYPE OPENBLAS_L2_SIZE
/usr/bin/python3 bench/gpt_bench.py --tessera build/tessera --fma build/bench/fma_peak "$@"
/usr/bin/python3 bench/remat_curve.py --tessera build/tessera
/usr/bin/python3 bench/ddp_bench.py --tessera build/tessera
/usr/bin/python3 bench/sim_vs_measured.py --tessera build/tessera --calibrate build/bench/cpu_calibrate \
  --comm-bench build/bench/comm_bench
/usr/bin/python3 bench/pipeline_bench.py --tessera build/tessera --config gpt-small
# GPT-base's plan files hold ~0.34 GB of initial weights that every rank reads: a few rows, no simulation.
/usr/bin/python3 bench/pipeline_bench.py --tessera build/tessera --config gpt-base \
  --runs 1dev,dp2,pp2-1f1b-m4,pp2-gpipe-m4 --no-sim --steps 3
/usr/bin/python3 bench/gemm_ab.py --tessera build/tessera --kernel-bench build/bench/kernel_bench --rounds 5
