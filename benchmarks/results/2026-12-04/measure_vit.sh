#!/usr/bin/env bash
# Section 7: ViT-B/16 forward and training step, Java (JMH) vs PyTorch (vit.py), alternating, 3 sittings.
set -u
J=${JAR:-/tmp/ci-clone/benchmarks/target/benchmarks.jar}
R=/work/main/benchmarks/compare/vit.py
OUT=/work/notes/vit-sittings; mkdir -p $OUT
export OMP_NUM_THREADS=2
java_run() { /usr/bin/time -v java -jar $J 'VitBenchmark.(forward|trainStep)$' -p model=B_16 -f 1 -wi 1 -i 3 -rf json -rff $OUT/java_$1.json > $OUT/java_$1.log 2>&1; }
py_run() { /usr/bin/time -v /usr/bin/python3 $R --phase forward --warmup 1 --iters 3 > $OUT/pyfwd_$1.log 2>&1; /usr/bin/time -v /usr/bin/python3 $R --phase train --warmup 1 --train-iters 3 > $OUT/pytrain_$1.log 2>&1; }
for s in 1 2 3; do
  echo "sitting $s $(date +%T) load $(cut -d' ' -f1 /proc/loadavg)"
  if [ $s = 2 ]; then py_run $s; java_run $s; else java_run $s; py_run $s; fi
done
echo done $(date +%T)
