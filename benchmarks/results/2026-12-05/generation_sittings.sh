#!/bin/bash
# Three alternating sittings of the tiny-SD generation comparison (Java first, PyTorch first, Java
# first), from the repository root, with the benchmarks jar of the commit under test. Each side
# writes its raw output to this folder; uptime before and after each run.
set -euo pipefail
OUT=benchmarks/results/2026-12-05
: "${DIFFUSERS_SRC:?set DIFFUSERS_SRC to diffusers-0.21.4/src}"
: "${HF_STUB_DIR:?set HF_STUB_DIR to shared/tools}"
java_side() {
  { uptime; java -jar benchmarks/target/benchmarks.jar GenerationBenchmark -wi 1 -i 3; uptime; } > "$OUT/generation_java_$1.txt" 2>&1
}
python_side() {
  { uptime; /usr/bin/python3 benchmarks/compare/generate.py --warmup 1 --iters 3; uptime; } > "$OUT/generation_pytorch_$1.txt" 2>&1
}
java_side 1; python_side 1
python_side 2; java_side 2
java_side 3; python_side 3
for i in 1 2 3; do
  grep -E "GenerationBenchmark.generate |^Iteration" "$OUT/generation_java_$i.txt" | tail -4
  grep -E "generation seconds" "$OUT/generation_pytorch_$i.txt"
done
