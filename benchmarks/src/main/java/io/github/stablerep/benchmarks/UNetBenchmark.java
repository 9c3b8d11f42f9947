package io.github.stablerep.benchmarks;

import io.github.stablerep.models.diffusion.UNet2DConditionModel;
import java.util.Map;
import java.util.Random;
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
 * One SD v1.5 UNet step (the builder's defaults are SD v1.5's unet/config.json; random weights)
 * at batch 2 (classifier-free guidance's pair), 77 text tokens of width 768, fp32, inference.
 * The PyTorch side is benchmarks/compare/unet.py (diffusers' UNet2DConditionModel, same shapes).
 * One invocation per iteration; the score is milliseconds per step.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.SingleShotTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 1)
@Measurement(iterations = 3)
@Fork(
    value = 1,
    jvmArgsAppend = {
      "-Dorg.bytedeco.javacpp.platform.extension=-onednn",
      "-Xmx3g",
      "-Dorg.bytedeco.javacpp.maxbytes=18G",
      "-Dorg.bytedeco.javacpp.maxphysicalbytes=20G"
    })
public class UNetBenchmark {
  public static final int BATCH = 2;
  public static final int TOKENS = 77;

  /** Latent height and width (64 = 512x512 images). */
  @Param({"64"})
  public int latent;

  private SameDiff sd;
  private Map<String, INDArray> feeds;
  private String output;

  @Setup
  public void setUp() {
    UNet2DConditionModel unet = UNet2DConditionModel.builder().seed(42).build();
    sd = SameDiff.create();
    SDVariable out = unet.define(sd, sd.placeHolder("sample", DataType.FLOAT, BATCH, 4, latent, latent),
        sd.placeHolder("timestep", DataType.FLOAT, BATCH), sd.placeHolder("context", DataType.FLOAT, BATCH, TOKENS, 768));
    output = out.name();
    Random rng = new Random(7);
    feeds = Map.of("sample", gaussian(rng, BATCH, 4, latent, latent),
        "timestep", Nd4j.createFromArray(981f, 981f), "context", gaussian(rng, BATCH, TOKENS, 768));
  }

  @Benchmark
  public INDArray step() {
    return sd.output(feeds, output).get(output);
  }

  private static INDArray gaussian(Random rng, long... shape) {
    int n = 1;
    for (long s : shape) {
      n *= (int) s;
    }
    float[] v = new float[n];
    for (int i = 0; i < n; i++) {
      v[i] = (float) rng.nextGaussian();
    }
    return Nd4j.createFromArray(v).reshape(shape);
  }
}
