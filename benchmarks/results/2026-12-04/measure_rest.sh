#!/usr/bin/env bash
# Section 7: SD v1.5 UNet step, multi-positive loss, linear probe; Java vs reference, alternating, 3 sittings.
set -u
J=/tmp/ci-clone/benchmarks/target/benchmarks.jar
C=/work/main/benchmarks/compare
OUT=/work/notes/rest-sittings; mkdir -p $OUT
export OMP_NUM_THREADS=2
export DIFFUSERS_SRC=/tmp/diffusers/src HF_STUB_DIR=/work/shared/tools
java_unet() { java -jar $J UNetBenchmark -f 1 -wi 1 -i 2 -rf json -rff $OUT/unet_java_$1.json > $OUT/unet_java_$1.log 2>&1; }
py_unet() { /usr/bin/python3 $C/unet.py --latent 64 --batch 2 --warmup 1 --iters 2 > $OUT/unet_py_$1.log 2>&1; }
java_loss() { java -jar $J LossBenchmark.eager -f 1 -wi 5 -i 10 -rf json -rff $OUT/loss_java_$1.json > $OUT/loss_java_$1.log 2>&1; }
py_loss() { /usr/bin/python3 $C/loss.py --iters 200 --warmup 20 > $OUT/loss_py_$1.log 2>&1; }
java_probe() { java -Xmx8g -Dorg.bytedeco.javacpp.maxbytes=12G -cp $J io.github.stablerep.benchmarks.ProbeBenchmark /usr/share/datasets/fashion-mnist 1e-3 FLOAT 1 > $OUT/probe_java_$1.log 2>&1; }
py_probe() { OPENBLAS_NUM_THREADS=2 /usr/bin/python3 $C/probe_fmnist.py --lam 1e-3 > $OUT/probe_py_$1.log 2>&1; }
for s in 1 2 3; do
  echo "sitting $s $(date +%T) load $(cut -d' ' -f1 /proc/loadavg)"
  if [ $s = 2 ]; then py_loss $s; java_loss $s; py_unet $s; java_unet $s; else java_loss $s; py_loss $s; java_unet $s; py_unet $s; fi
  echo "  unet+loss done $(date +%T)"
done
for s in 1 2 3; do
  echo "probe sitting $s $(date +%T) load $(cut -d' ' -f1 /proc/loadavg)"
  if [ $s = 2 ]; then py_probe $s; java_probe $s; else java_probe $s; py_probe $s; fi
done
echo done $(date +%T)
