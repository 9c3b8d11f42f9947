package io.github.stablerep.augment;

import com.sun.management.OperatingSystemMXBean;
import io.github.stablerep.augment.SimClrAugmentation.Stage;
import java.io.IOException;
import java.io.PrintStream;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * CPU time per sample of {@code SimClrAugmentation.stableRep(224)} and of each of its stages, on
 * one thread, measured with {@link ThreadMXBean#getCurrentThreadCpuTime}: on a machine shared
 * with other jobs, wall-clock throughput moves with the load, while a thread's own CPU time
 * moves much less (cache and frequency effects remain).
 *
 * <p>Each sample runs through the pipeline's own {@code augmentOne} twice: once with a
 * {@link SimClrAugmentation.StageTimer} that reads the thread's CPU clock around every stage
 * (the stages it times are the ones training runs, not a copy), then with no timer, timed
 * whole. Then {@code apply} runs on the batch (a fresh output, then one reused output) with the
 * process's CPU time (all threads, so fork-join, the output's page faults, GC and JIT included).
 * It sits in augment's test sources because {@code augmentOne} is package-private; the
 * benchmarks jar carries augment's test jar, so it runs from there:
 *
 * <pre>
 * java -cp benchmarks/target/benchmarks.jar io.github.stablerep.augment.AugmentCpuProfile \
 *     [images-dir (benchmarks/target/augment-images)] [measured batches (20)]
 * </pre>
 */
public final class AugmentCpuProfile {

  /** Per-stage CPU nanoseconds and counts, summed over the measured samples. */
  static final class Totals implements SimClrAugmentation.StageTimer {
    final long[] ns = new long[Stage.values().length];
    final int[] count = new int[Stage.values().length];
    private final ThreadMXBean clock;

    Totals(ThreadMXBean clock) {
      this.clock = clock;
    }

    @Override
    public long mark() {
      return clock.getCurrentThreadCpuTime();
    }

    @Override
    public void done(Stage stage, long mark) {
      ns[stage.ordinal()] += clock.getCurrentThreadCpuTime() - mark;
      count[stage.ordinal()]++;
    }
  }

  private AugmentCpuProfile() {}

  public static void main(String[] args) throws IOException {
    run(args, System.out);
  }

  /** {@link #main}, printing to {@code out}. */
  static void run(String[] args, PrintStream out) throws IOException {
    Path dir = Path.of(args.length > 0 ? args[0] : "benchmarks/target/augment-images");
    int batches = args.length > 1 ? Integer.parseInt(args[1]) : 20;
    List<Path> files;
    try (Stream<Path> s = Files.list(dir)) {
      files = s.filter(p -> p.toString().endsWith(".png")).sorted().collect(Collectors.toList());
    }
    if (files.isEmpty()) {
      throw new IllegalArgumentException(dir + ": expected PNG images (AugmentBenchmark writes "
          + "them), found none");
    }
    INDArray[] xs = new INDArray[files.size()];
    for (int i = 0; i < xs.length; i++) {
      xs[i] = Images.read(files.get(i));
    }
    profile(SimClrAugmentation.stableRep(224), Nd4j.stack(0, xs), 8, batches, out);
  }

  /**
   * Profiles {@code aug} on {@code batch} ({@code warm} unmeasured rounds first), prints the
   * tables to {@code out} and returns the per-stage totals of the measured rounds.
   */
  static Totals profile(SimClrAugmentation aug, INDArray batch, int warm, int batches,
      PrintStream out) {
    ImageOps.Batch in = ImageOps.Batch.of("batch", batch);
    ThreadMXBean tmx = ManagementFactory.getThreadMXBean();
    int s = aug.size();
    int[] reflect = ImageKernels.reflectIndex(s, aug.blurKernelSize() / 2);
    Totals measured = new Totals(tmx);
    Totals discarded = new Totals(tmx);
    long wholeNs = 0;
    int samples = 0;
    for (int round = 0; round < warm + batches; round++) {
      boolean measure = round >= warm;
      List<SimClrAugmentation.SampleParameters> ps =
          aug.sampleParameters(in.n, in.h, in.w, 1000L + round);
      for (int i = 0; i < in.n; i++) {
        aug.augmentOne(in, i, ps.get(i), reflect, measure ? measured : discarded);
        long t0 = tmx.getCurrentThreadCpuTime();
        aug.augmentOne(in, i, ps.get(i), reflect);
        long t1 = tmx.getCurrentThreadCpuTime();
        if (measure) {
          wholeNs += t1 - t0;
          samples++;
        }
      }
    }
    out.printf(Locale.ROOT, "one thread, %d samples (%d batches of %d), %dx%d output%n",
        samples, batches, in.n, s, s);
    out.printf(Locale.ROOT, "%-12s %8s %12s %14s%n", "stage", "applied", "ms/applied",
        "ms/sample");
    double sum = 0;
    for (Stage st : Stage.values()) {
      int k = st.ordinal();
      double perApplied = measured.count[k] == 0 ? 0 : measured.ns[k] / 1e6 / measured.count[k];
      double perSample = measured.ns[k] / 1e6 / samples;
      sum += perSample;
      out.printf(Locale.ROOT, "%-12s %7.1f%% %12.3f %14.3f%n", st.name().toLowerCase(Locale.ROOT),
          100.0 * measured.count[k] / samples, perApplied, perSample);
    }
    out.printf(Locale.ROOT, "%-12s %8s %12s %14.3f%n", "stages sum", "", "", sum);
    out.printf(Locale.ROOT, "%-12s %8s %12s %14.3f%n", "augmentOne", "", "", wholeNs / 1e6 / samples);

    OperatingSystemMXBean os =
        (OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean();
    for (int r = 0; r < Math.min(3, warm); r++) {
      aug.apply(batch, 7L + r);
    }
    long p0 = os.getProcessCpuTime();
    long w0 = System.nanoTime();
    for (int r = 0; r < batches; r++) {
      aug.apply(batch, 50L + r);
    }
    long p1 = os.getProcessCpuTime();
    long w1 = System.nanoTime();
    out.printf(Locale.ROOT,
        "apply (all threads, process CPU): %.3f ms/sample CPU, %.1f ms/batch wall%n",
        (p1 - p0) / 1e6 / (batches * in.n), (w1 - w0) / 1e6 / batches);
    INDArray into = Nd4j.create(DataType.FLOAT, in.n, 3, s, s);
    p0 = os.getProcessCpuTime();
    w0 = System.nanoTime();
    for (int r = 0; r < batches; r++) {
      aug.apply(batch, 50L + r, into);
    }
    p1 = os.getProcessCpuTime();
    w1 = System.nanoTime();
    out.printf(Locale.ROOT,
        "apply into a reused output (all threads, process CPU): %.3f ms/sample CPU, %.1f ms/batch"
            + " wall%n",
        (p1 - p0) / 1e6 / (batches * in.n), (w1 - w0) / 1e6 / batches);
    return measured;
  }
}
