#!/usr/bin/env bash
# Section 7: ViT-S/16 training step and StableRep augmentation; Java vs reference, alternating, 3 sittings.
set -u
J=/tmp/ci-clone/benchmarks/target/benchmarks.jar
C=/work/main/benchmarks/compare
OUT=/work/notes/more-sittings; mkdir -p $OUT
export OMP_NUM_THREADS=2
cd /tmp/ci-clone
[ -d benchmarks/target/augment-images ] || /usr/bin/python3 $C/augment.py --make-images benchmarks/target/augment-images > $OUT/make.log 2>&1
java_s16() { java -jar $J 'VitBenchmark.trainStep$' -p model=S_16 -f 1 -wi 1 -i 2 -rf json -rff $OUT/s16_java_$1.json > $OUT/s16_java_$1.log 2>&1; }
py_s16() { /usr/bin/python3 $C/vit.py --model vit_s_16 --phase train --warmup 1 --train-iters 3 > $OUT/s16_py_$1.log 2>&1; }
java_aug() { java -jar $J 'AugmentBenchmark.apply$' -f 1 -wi 2 -i 3 -rf json -rff $OUT/aug_java_$1.json > $OUT/aug_java_$1.log 2>&1; }
py_aug() { /usr/bin/python3 $C/augment.py --mode memory --json $OUT/aug_py_$1.json > $OUT/aug_py_$1.log 2>&1; }
for s in 1 2 3; do
  echo "sitting $s $(date +%T) load $(cut -d' ' -f1 /proc/loadavg)"
  if [ $s = 2 ]; then py_s16 $s; java_s16 $s; py_aug $s; java_aug $s; else java_s16 $s; py_s16 $s; java_aug $s; py_aug $s; fi
done
echo done $(date +%T)
