package io.github.stablerep.benchmarks;

import io.github.stablerep.core.loss.MultiPositiveContrastiveLoss;
import io.github.stablerep.core.optim.AdamW;
import io.github.stablerep.core.train.TrainStep;
import io.github.stablerep.models.vit.VisionTransformer;
import io.github.stablerep.models.vit.VitGraph;
import io.github.stablerep.models.vit.VitPreset;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.bytedeco.javacpp.Pointer;
import org.nd4j.autodiff.listeners.At;
import org.nd4j.autodiff.listeners.BaseListener;
import org.nd4j.autodiff.listeners.Operation;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.autodiff.samediff.internal.SameDiffOp;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.OpContext;
import org.nd4j.linalg.dataset.api.MultiDataSet;
import org.nd4j.linalg.factory.Nd4j;

/**
 * A per-op profile of one ViT training step (forward, backward, AdamW) at batch 16, for finding
 * where the time and memory go; {@link VitBenchmark} gives the timings to quote.
 *
 * <pre>
 * java -Dorg.bytedeco.javacpp.platform.extension=-onednn -Xmx2g \
 *   -Dorg.bytedeco.javacpp.maxbytes=16G -Dorg.bytedeco.javacpp.maxphysicalbytes=20G \
 *   -cp benchmarks/target/benchmarks.jar io.github.stablerep.benchmarks.VitTrainProfile \
 *   [model=B_16_d1] [steps=3] [gradients=library|samediff] [profile=true] [batch=16]
 * </pre>
 *
 * <p>Per step: wall time, the process's resident set (from /proc) and JavaCPP's physical-bytes
 * count after the step, minor page faults and CPU time (user, system) of the process during the
 * step. With {@code profile=true} the last step is timed per op type: time inside the op
 * (between SameDiff's pre- and post-execution listener calls, which includes the page faults
 * of first touching a fresh output), time between ops (output allocation, dependency tracking,
 * array release), and bytes of outputs.
 *
 * <p>{@code gradients=library} runs each step as a {@link TrainStep} (the library's training
 * step: SameDiff releases intermediate arrays and the step reuses them by length; AdamW; the
 * gradients recycled), timed as one; {@code samediff} uses {@code sd.calculateGradients} and
 * then {@link AdamW#step(SameDiff, Map)}, timed apart. (The {@code shapecache} mode, SameDiff's
 * exact-shape cache, went when the gradient internals left the public API; its numbers are in
 * benchmarks/README.md.)
 */
public final class VitTrainProfile {

  private VitTrainProfile() {}

  /** Time inside each op type and between ops, plus output bytes. */
  static final class OpTimer extends BaseListener {
    final Map<String, double[]> byType = new TreeMap<>();  // ms in op, ms before op, count, MB out
    final Map<String, double[]> byName = new TreeMap<>();  // ms in op, MB out
    long lastEnd;
    long start;

    @Override
    public boolean isActive(Operation operation) {
      return true;
    }

    @Override
    public void preOpExecution(SameDiff sd, At at, SameDiffOp op, OpContext opContext) {
      start = System.nanoTime();
      String type = op.getOp().opName();
      double[] s = byType.computeIfAbsent(type, k -> new double[4]);
      if (lastEnd != 0) {
        s[1] += (start - lastEnd) / 1e6;
      }
    }

    @Override
    public void opExecution(SameDiff sd, At at, MultiDataSet batch, SameDiffOp op, OpContext opContext,
        INDArray[] outputs) {
      long end = System.nanoTime();
      double[] s = byType.get(op.getOp().opName());
      s[0] += (end - start) / 1e6;
      s[2] += 1;
      double[] n = byName.computeIfAbsent(op.getName(), k -> new double[2]);
      n[0] += (end - start) / 1e6;
      for (INDArray o : outputs) {
        if (o != null && !o.isEmpty()) {
          s[3] += o.length() * o.dataType().width() / 1e6;
          n[1] += o.length() * o.dataType().width() / 1e6;
        }
      }
      lastEnd = end;
    }

    void print() {
      List<Map.Entry<String, double[]>> rows = new ArrayList<>(byType.entrySet());
      rows.sort((a, b) -> Double.compare(b.getValue()[0] + b.getValue()[1], a.getValue()[0] + a.getValue()[1]));
      double in = 0;
      double between = 0;
      double mb = 0;
      System.out.printf("%-28s %10s %12s %6s %10s%n", "op", "ms in op", "ms before op", "count", "MB out");
      for (Map.Entry<String, double[]> e : rows) {
        double[] s = e.getValue();
        in += s[0];
        between += s[1];
        mb += s[3];
        System.out.printf("%-28s %10.1f %12.1f %6d %10.1f%n", e.getKey(), s[0], s[1], (long) s[2], s[3]);
      }
      System.out.printf("%-28s %10.1f %12.1f %6s %10.1f%n", "TOTAL", in, between, "", mb);
      List<Map.Entry<String, double[]>> ops = new ArrayList<>(byName.entrySet());
      ops.sort((a, b) -> Double.compare(b.getValue()[0], a.getValue()[0]));
      System.out.println("slowest ops:");
      for (Map.Entry<String, double[]> e : ops.subList(0, Math.min(40, ops.size()))) {
        System.out.printf("  %-50s %10.1f ms %10.1f MB%n", e.getKey(), e.getValue()[0], e.getValue()[1]);
      }
    }
  }

  static long[] procStat() throws Exception {
    // /proc/self/stat fields: 10 minflt, 14 utime, 15 stime (clock ticks)
    String s = Files.readString(Path.of("/proc/self/stat"));
    String[] f = s.substring(s.lastIndexOf(')') + 2).split(" ");
    return new long[] {Long.parseLong(f[7]), Long.parseLong(f[11]), Long.parseLong(f[12])};
  }

  static long rssMb() throws Exception {
    for (String line : Files.readAllLines(Path.of("/proc/self/status"))) {
      if (line.startsWith("VmRSS:")) {
        return Long.parseLong(line.replaceAll("\\D", "")) / 1024;
      }
    }
    return -1;
  }

  public static void main(String[] args) throws Exception {
    Map<String, String> a = new HashMap<>(Map.of(
        "model", "B_16_d1", "steps", "3", "gradients", "library", "profile", "true", "batch", "16"));
    for (String arg : args) {
      String[] kv = arg.split("=", 2);
      a.put(kv[0], kv[1]);
    }
    String model = a.get("model");
    int steps = Integer.parseInt(a.get("steps"));
    int batch = Integer.parseInt(a.get("batch"));
    VisionTransformer.Builder b = VisionTransformer.builder().imageSize(224).seed(42);
    if (model.endsWith("_d1")) {
      b.preset(VitPreset.valueOf(model.substring(0, model.length() - 3))).depth(1);
    } else {
      b.preset(VitPreset.valueOf(model));
    }
    VisionTransformer vit = b.build();
    SameDiff sd = SameDiff.create();
    VitGraph g = vit.define(sd, sd.placeHolder("images", DataType.FLOAT, -1, 3, 224, 224));
    SDVariable ids = sd.placeHolder("ids", DataType.INT64, -1);
    sd.setLossVariables(MultiPositiveContrastiveLoss.builder().temperature(0.1).build()
        .define(sd, "loss", g.classToken(), ids));
    List<String> params = g.variableNames();
    long[] idv = new long[batch];
    for (int i = 0; i < batch; i++) {
      idv[i] = i % (batch / 2);
    }
    Map<String, INDArray> feed = Map.of(
        "images", Nd4j.randn(7L, new long[] {batch, 3, 224, 224}).castTo(DataType.FLOAT),
        "ids", Nd4j.createFromArray(idv));
    AdamW adamW = AdamW.builder().learningRate(1e-4).build();
    boolean library = a.get("gradients").equals("library");
    TrainStep trainStep = library ? TrainStep.builder().graph(sd).parts(g).optimizer(adamW).build() : null;
    System.out.printf("model=%s batch=%d gradients=%s ops=%d threads=%s pid=%d%n", model, batch, a.get("gradients"),
        sd.getOps().size(), System.getenv("OMP_NUM_THREADS"), ProcessHandle.current().pid());
    OpTimer timer = new OpTimer();
    for (int step = 0; step < steps; step++) {
      boolean profile = Boolean.parseBoolean(a.get("profile")) && step == steps - 1;
      if (profile) {
        sd.setListeners(timer);
      }
      long[] p0 = procStat();
      long t0 = System.nanoTime();
      long t1;
      if (library) {
        trainStep.run(feed);
        t1 = System.nanoTime();
      } else {
        Map<String, INDArray> grads = sd.calculateGradients(feed, params);
        t1 = System.nanoTime();
        adamW.step(sd, grads);
      }
      long t2 = System.nanoTime();
      long[] p1 = procStat();
      System.out.printf("step %d: %.0f ms (%s); RSS %d MB, JavaCPP physical %d MB, "
              + "minor faults %d, user %.1f s, sys %.1f s%n",
          step, (t2 - t0) / 1e6,
          library ? "TrainStep" : String.format("gradients %.0f ms, AdamW %.0f ms", (t1 - t0) / 1e6, (t2 - t1) / 1e6),
          rssMb(), Pointer.physicalBytes() >> 20, p1[0] - p0[0], (p1[1] - p0[1]) / 100.0, (p1[2] - p0[2]) / 100.0);
      if (profile) {
        sd.setListeners();
      }
    }
    if (Boolean.parseBoolean(a.get("profile"))) {
      timer.print();
    }
    System.out.println("JVM uptime " + ManagementFactory.getRuntimeMXBean().getUptime() + " ms");
  }
}
