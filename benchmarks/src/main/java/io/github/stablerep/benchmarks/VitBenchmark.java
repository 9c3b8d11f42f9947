package io.github.stablerep.benchmarks;

import io.github.stablerep.core.loss.MultiPositiveContrastiveLoss;
import io.github.stablerep.core.optim.AdamW;
import io.github.stablerep.core.train.TrainStep;
import io.github.stablerep.models.vit.VisionTransformer;
import io.github.stablerep.models.vit.VitGraph;
import io.github.stablerep.models.vit.VitPreset;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * ViT forward (inference) and one full training step at batch 16, 224x224, fp32. The PyTorch
 * side is benchmarks/compare/vit.py (torchvision {@code vit_b_16}, same batch, loss shape,
 * optimiser and thread count).
 *
 * <ul>
 *   <li>{@link #forward}: {@code sd.output} of the class token after the final LayerNorm, images
 *       as a placeholder (random normal, fixed).
 *   <li>{@link #trainStep}: one {@link TrainStep} (the library's training step: SameDiff's
 *       gradient function with array reuse on, then AdamW, gradients recycled) on StableRep's
 *       multi-positive loss (τ = 0.1) on the class token with caption ids [0..7, 0..7] (8
 *       captions x 2 views), for every trainable variable (AdamW's paper defaults: betas
 *       0.9/0.98, wd 0.1, no decay on biases and norm parameters).
 * </ul>
 *
 * <p>{@code model}: {@code B_16} and {@code S_16} are the presets; {@code B_16_d1} is B/16 with a
 * single block, for a per-block breakdown (B_16 minus B_16_d1 = 11 blocks).
 *
 * <p>One invocation per iteration (a B/16 training step takes seconds); the score is seconds per
 * batch of 16. FLOPs: see benchmarks/README.md, section "ViT-B/16".
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.SingleShotTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 2)
@Measurement(iterations = 5)
@Fork(
    value = 1,
    jvmArgsAppend = {
      "-Dorg.bytedeco.javacpp.platform.extension=-onednn",
      "-Xmx2g",
      "-Dorg.bytedeco.javacpp.maxbytes=16G",
      "-Dorg.bytedeco.javacpp.maxphysicalbytes=20G"
    })
public class VitBenchmark {

  /** Batch size: 8 captions x 2 views. */
  public static final int BATCH = 16;

  @Param({"B_16", "S_16"})
  public String model;

  @Param({"224"})
  public int imageSize;

  private SameDiff sd;
  private Map<String, INDArray> batch;
  private String classToken;
  private String[] params;
  private AdamW adamW;
  private TrainStep step;

  @Setup
  public void setUp() {
    VisionTransformer.Builder b = VisionTransformer.builder().imageSize(imageSize).seed(42);
    switch (model) {
      case "B_16_d1":
        b.preset(VitPreset.B_16).depth(1);
        break;
      default:
        b.preset(VitPreset.valueOf(model));
    }
    VisionTransformer vit = b.build();
    sd = SameDiff.create();
    SDVariable images = sd.placeHolder("images", DataType.FLOAT, -1, 3, imageSize, imageSize);
    VitGraph g = vit.define(sd, images);
    SDVariable ids = sd.placeHolder("ids", DataType.INT64, -1);
    SDVariable loss = MultiPositiveContrastiveLoss.builder().temperature(0.1).build()
        .define(sd, "loss", g.classToken(), ids);
    sd.setLossVariables(loss);
    classToken = g.classToken().name();
    params = g.variableNames().toArray(new String[0]);

    long[] idv = new long[BATCH];
    for (int i = 0; i < BATCH; i++) {
      idv[i] = i % (BATCH / 2);
    }
    batch = Map.of(
        "images", Nd4j.randn(7L, new long[] {BATCH, 3, imageSize, imageSize}).castTo(DataType.FLOAT),
        "ids", Nd4j.createFromArray(idv));
    adamW = AdamW.builder().learningRate(1e-4).build();
    step = TrainStep.builder().graph(sd).parts(g).optimizer(AdamW.builder().learningRate(1e-4).build()).build();
  }

  @Benchmark
  public INDArray forward() {
    return sd.output(batch, classToken).get(classToken);
  }

  @Benchmark
  public double trainStep() {
    return step.run(batch).loss();
  }

  /**
   * {@link #trainStep} with SameDiff's own {@code calculateGradients}, which keeps every
   * intermediate array of the step allocated (see {@link TrainStep}); B/16 runs out of memory.
   */
  @Benchmark
  public double trainStepSameDiff() {
    return adamW.step(sd, sd.calculateGradients(batch, params));
  }
}
