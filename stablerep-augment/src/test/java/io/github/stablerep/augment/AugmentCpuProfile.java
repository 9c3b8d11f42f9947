package io.github.stablerep.augment;

import com.sun.management.OperatingSystemMXBean;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * CPU time per sample of {@code SimClrAugmentation.stableRep(224)} and of each of its kernels,
 * on one thread, measured with {@link ThreadMXBean#getCurrentThreadCpuTime}: on a machine shared
 * with other jobs, wall-clock throughput moves with the load, while a thread's own CPU time
 * moves much less (cache and frequency effects remain). It lives in the augment package, in
 * the benchmarks module, because the kernels it times are package-private.
 *
 * <p>Each sample runs the pipeline's stages one by one, as {@code augmentOne} does, with the
 * parameters {@code apply} would draw, and every stage is timed on its own; then the fused
 * {@code augmentOne} is timed whole, and finally {@code apply} on the batch (a fresh output,
 * then one reused output) with the process's CPU time (all threads, so fork-join, the
 * output's page faults, GC and JIT included).
 *
 * <pre>
 * java -cp benchmarks/target/benchmarks.jar io.github.stablerep.augment.AugmentCpuProfile \
 *     [images-dir (benchmarks/target/augment-images)] [measured batches (20)]
 * </pre>
 */
public final class AugmentCpuProfile {

  private static final String[] STAGES = {
    "crop+resize", "brightness", "contrast", "saturation", "hue", "grayscale", "blur", "flip",
    "normalize"
  };

  private AugmentCpuProfile() {}

  public static void main(String[] args) throws IOException {
    Path dir = Path.of(args.length > 0 ? args[0] : "benchmarks/target/augment-images");
    int batches = args.length > 1 ? Integer.parseInt(args[1]) : 20;
    List<Path> files;
    try (Stream<Path> s = Files.list(dir)) {
      files = s.filter(p -> p.toString().endsWith(".png")).sorted().collect(Collectors.toList());
    }
    INDArray[] xs = new INDArray[files.size()];
    for (int i = 0; i < xs.length; i++) {
      xs[i] = Images.read(files.get(i));
    }
    INDArray batch = Nd4j.stack(0, xs);
    SimClrAugmentation aug = SimClrAugmentation.stableRep(224);
    ImageOps.Batch in = ImageOps.Batch.of("batch", batch);
    ThreadMXBean tmx = ManagementFactory.getThreadMXBean();

    long[] stageNs = new long[STAGES.length];
    int[] stageCount = new int[STAGES.length];
    long fusedNs = 0;
    int samples = 0;
    int warm = 8;
    for (int round = 0; round < warm + batches; round++) {
      boolean measure = round >= warm;
      long seed = 1000L + round;
      List<SimClrAugmentation.SampleParameters> ps =
          aug.sampleParameters(in.n, in.h, in.w, seed);
      int[] reflect = ImageKernels.reflectIndex(224, aug.blurKernelSize() / 2);
      for (int i = 0; i < in.n; i++) {
        long[] t = stages(aug, in, i, ps.get(i), reflect, tmx);
        long t0 = tmx.getCurrentThreadCpuTime();
        aug.augmentOne(in, i, ps.get(i), reflect);
        long t1 = tmx.getCurrentThreadCpuTime();
        if (measure) {
          for (int k = 0; k < STAGES.length; k++) {
            if (t[k] >= 0) {
              stageNs[k] += t[k];
              stageCount[k]++;
            }
          }
          fusedNs += t1 - t0;
          samples++;
        }
      }
    }
    System.out.printf(Locale.ROOT, "one thread, %d samples (%d batches of %d), 224x224 output%n",
        samples, batches, in.n);
    System.out.printf(Locale.ROOT, "%-12s %8s %12s %14s%n", "stage", "applied", "ms/applied",
        "ms/sample");
    double sum = 0;
    for (int k = 0; k < STAGES.length; k++) {
      double perApplied = stageCount[k] == 0 ? 0 : stageNs[k] / 1e6 / stageCount[k];
      double perSample = stageNs[k] / 1e6 / samples;
      sum += perSample;
      System.out.printf(Locale.ROOT, "%-12s %7.1f%% %12.3f %14.3f%n", STAGES[k],
          100.0 * stageCount[k] / samples, perApplied, perSample);
    }
    System.out.printf(Locale.ROOT, "%-12s %8s %12s %14.3f%n", "stages sum", "", "", sum);
    System.out.printf(Locale.ROOT, "%-12s %8s %12s %14.3f%n", "augmentOne", "", "",
        fusedNs / 1e6 / samples);

    OperatingSystemMXBean os =
        (OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
    for (int r = 0; r < 3; r++) {
      aug.apply(batch, 7L + r);
    }
    long p0 = os.getProcessCpuTime();
    long w0 = System.nanoTime();
    for (int r = 0; r < batches; r++) {
      aug.apply(batch, 50L + r);
    }
    long p1 = os.getProcessCpuTime();
    long w1 = System.nanoTime();
    System.out.printf(Locale.ROOT,
        "apply (all threads, process CPU): %.3f ms/sample CPU, %.1f ms/batch wall%n",
        (p1 - p0) / 1e6 / (batches * in.n), (w1 - w0) / 1e6 / batches);
    INDArray out = Nd4j.create(org.nd4j.linalg.api.buffer.DataType.FLOAT, in.n, 3, 224, 224);
    p0 = os.getProcessCpuTime();
    w0 = System.nanoTime();
    for (int r = 0; r < batches; r++) {
      aug.apply(batch, 50L + r, out);
    }
    p1 = os.getProcessCpuTime();
    w1 = System.nanoTime();
    System.out.printf(Locale.ROOT,
        "apply into a reused output (all threads, process CPU): %.3f ms/sample CPU, %.1f ms/batch"
            + " wall%n",
        (p1 - p0) / 1e6 / (batches * in.n), (w1 - w0) / 1e6 / batches);
  }

  /** The stages of augmentOne for sample i, each timed; -1 for a stage not applied. */
  private static long[] stages(SimClrAugmentation aug, ImageOps.Batch in, int i,
      SimClrAugmentation.SampleParameters p, int[] reflect, ThreadMXBean tmx) {
    long[] t = new long[STAGES.length];
    java.util.Arrays.fill(t, -1);
    int inPlane = in.h * in.w;
    float[] src = Scratch.buffer(Scratch.Buffer.SAMPLE, 3 * inPlane);
    in.src.get(i * 3 * inPlane, src, 0, 3 * inPlane);
    int s = aug.size();
    int plane = s * s;
    float[][] rgb = Scratch.rgb(plane);
    float[] r = rgb[0];
    float[] g = rgb[1];
    float[] b = rgb[2];
    long t0 = tmx.getCurrentThreadCpuTime();
    ImageKernels.Filter rows = ImageKernels.Filter.antialiased(p.cropHeight(), s);
    ImageKernels.Filter cols = ImageKernels.Filter.antialiased(p.cropWidth(), s);
    for (int ch = 0; ch < 3; ch++) {
      ImageKernels.cropResizePlane(src, ch * inPlane, in.w, p.top(), p.left(), p.cropHeight(), rows,
          cols, rgb[ch], 0);
    }
    t[0] = tmx.getCurrentThreadCpuTime() - t0;
    if (p.jitter()) {
      for (int op : p.jitterOrder()) {
        long u0 = tmx.getCurrentThreadCpuTime();
        switch (op) {
          case 0 -> ImageKernels.brightness(r, g, b, plane, p.brightness());
          case 1 -> ImageKernels.contrast(r, g, b, plane, p.contrast());
          case 2 -> ImageKernels.saturation(r, g, b, plane, p.saturation());
          default -> ImageKernels.hue(r, g, b, plane, p.hue());
        }
        t[1 + op] = tmx.getCurrentThreadCpuTime() - u0;
      }
    }
    if (p.grayscale()) {
      long u0 = tmx.getCurrentThreadCpuTime();
      ImageKernels.grayscale3(r, g, b, plane);
      t[5] = tmx.getCurrentThreadCpuTime() - u0;
    }
    if (p.blur()) {
      long u0 = tmx.getCurrentThreadCpuTime();
      float[] kern = ImageKernels.gaussianKernel(aug.blurKernelSize(), p.blurSigma());
      for (int ch = 0; ch < 3; ch++) {
        ImageKernels.blurPlane(rgb[ch], 0, s, s, kern, reflect, reflect);
      }
      t[6] = tmx.getCurrentThreadCpuTime() - u0;
    }
    if (p.flip()) {
      long u0 = tmx.getCurrentThreadCpuTime();
      for (int ch = 0; ch < 3; ch++) {
        ImageKernels.flipPlane(rgb[ch], 0, s, s);
      }
      t[7] = tmx.getCurrentThreadCpuTime() - u0;
    }
    long u0 = tmx.getCurrentThreadCpuTime();
    double[] mean = aug.mean();
    double[] std = aug.std();
    for (int ch = 0; ch < 3; ch++) {
      ImageKernels.normalize(rgb[ch], 0, plane, mean[ch], std[ch]);
    }
    t[8] = tmx.getCurrentThreadCpuTime() - u0;
    return t;
  }
}
