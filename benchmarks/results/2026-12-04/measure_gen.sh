#!/usr/bin/env bash
set -u
cd /tmp/ci-clone
OUT=/work/notes/gen-sittings; mkdir -p $OUT
export OMP_NUM_THREADS=2 DIFFUSERS_SRC=/tmp/diffusers/src HF_STUB_DIR=/work/shared/tools
jr() { java -jar benchmarks/target/benchmarks.jar GenerationBenchmark -wi 1 -i 2 -rf json -rff $OUT/gen_java_$1.json > $OUT/gen_java_$1.log 2>&1; }
pr() { /usr/bin/python3 /work/main/benchmarks/compare/generate.py --warmup 1 --iters 2 > $OUT/gen_py_$1.log 2>&1; }
for s in 1 2 3; do
  echo "sitting $s $(date +%T) load $(cut -d' ' -f1 /proc/loadavg)"
  if [ $s = 2 ]; then pr $s; jr $s; else jr $s; pr $s; fi
done
echo done $(date +%T)
