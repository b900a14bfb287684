#!/usr/bin/env bash
# Sets everything up (scripts/setup.sh) and runs the main job: take the shipped example model,
# verify it, optimize it (DCE, CSE), convert it to the protobuf form, and run it on the reference
# interpreter, printing what happened at each step.
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
