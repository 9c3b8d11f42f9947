#!/usr/bin/env bash
# TrainStep (new) against the hand-written loop (old, main at 3f54d2f): VitTrainProfile B_16_d1, alternating, 3 each.
set -u
OUT=/work/notes/trainstep-sittings; mkdir -p $OUT
export OMP_NUM_THREADS=2
run() { java -Dorg.bytedeco.javacpp.platform.extension=-onednn -Xmx2g -Dorg.bytedeco.javacpp.maxbytes=16G -Dorg.bytedeco.javacpp.maxphysicalbytes=20G -cp /tmp/ts-$1.jar io.github.stablerep.benchmarks.VitTrainProfile model=B_16_d1 steps=6 gradients=library profile=false batch=16 > $OUT/$1_$2.log 2>&1; }
for s in 1 2 3; do
  echo "sitting $s $(date +%T) load $(cut -d' ' -f1 /proc/loadavg)"
  if [ $s = 2 ]; then run new $s; run old $s; else run old $s; run new $s; fi
done
echo done $(date +%T)
