#!/usr/bin/env bash
# Sets everything up (scripts/setup.sh) and runs the main job: take the shipped example model,
# verify it, optimize it (DCE, CSE), convert it to the protobuf form, run it on the reference
# interpreter; build a character-level GPT from the zoo and train it on the compiled CPU engine
# on a text every Debian system has; then the main event: train the same kind of GPT on 4 ranks
# under mpirun with a dp=2 x tp=2 plan (data parallel x Megatron tensor parallel), printing the
# loss and tokens/s of every step.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh

tessera=build/tessera
model=examples/mlp.tir
out=build/demo
mkdir -p "$out"

echo
echo "== 1. verify and optimize $model (passes: verify, dce, cse)"
"$tessera" opt "$model" --passes=verify,dce,cse -o "$out/mlp.opt.tir"
count_ops() { sed -n '/func @main/,/^  }/p' "$1" | grep -c '^    %'; }
echo "   ops in @main: $(count_ops "$model") before, $(count_ops "$out/mlp.opt.tir") after (dce removes the unused %unused)"
echo "   optimized function:"
sed -n '/func @main/,/^  }/p' "$out/mlp.opt.tir" | sed 's/^/   | /'

echo
echo "== 2. write the protobuf form (weights included)"
"$tessera" opt "$out/mlp.opt.tir" --emit=proto -o "$out/mlp.tpb"
echo "   $out/mlp.tpb: $(stat -c %s "$out/mlp.tpb") bytes"

echo
echo "== 3. run @main on the reference interpreter, from the protobuf form"
"$tessera" eval "$out/mlp.tpb" --func main --output-dir "$out/outputs"
echo "   outputs written to $out/outputs/"

echo
echo "== 4. build a 2-layer GPT from the zoo and train it (AdamW, compiled engine) on the bytes of GPL-3"
"$tessera" zoo gpt --layers=2 --hidden=64 --heads=4 --vocab=256 --seq=32 -o "$out/gpt.tir"
echo "   $out/gpt.tir: $(grep -c '^  param' "$out/gpt.tir") parameter tensors"
"$tessera" train "$out/gpt.tir" --steps 30 --optimizer adamw --lr 3e-3 --batch 4 --seq 32 \
  --data /usr/share/common-licenses/GPL-3 --log-json "$out/train.jsonl"
echo "   per-step log: $out/train.jsonl"

echo
echo "== 5. distributed: the character-level GPT on 4 ranks, mesh dp=2 x tp=2 (data x Megatron tensor parallel)"
echo "   tessera compiles the plan, then starts mpirun -np 4 itself; rank 0 prints the steps"
"$tessera" train gpt --layers 2 --hidden 64 --heads 4 --seq 32 --batch 8 --steps 40 \
  --optimizer adamw --lr 3e-3 --data /usr/share/common-licenses/GPL-3 \
  -np 4 --mesh dp=2,tp=2 --parallel dp,megatron --log-json "$out/train-dist.jsonl" \
  --log-dir "$out/ranks"
echo "   per-step log: $out/train-dist.jsonl; each rank's log: $out/ranks/rank<r>.log"
