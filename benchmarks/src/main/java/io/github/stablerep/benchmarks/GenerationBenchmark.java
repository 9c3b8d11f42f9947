package io.github.stablerep.benchmarks;

import io.github.stablerep.models.diffusion.StableDiffusionPipeline;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.indexing.NDArrayIndex;
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
 * The whole generation of a small dataset with the shipped tiny model (tiny-sd-fmnist): 16
 * captions x 4 images, 32x32, DDIM 10 steps, guidance 2, fp32, with {@link
 * StableDiffusionPipeline#generate(List, INDArray, StableDiffusionPipeline.Progress)} taking
 * {@code imagesPerCall} images (several captions) per call, text encoding and VAE decoding
 * included. The PyTorch side is benchmarks/compare/generate.py (diffusers 0.21.4, same work, the
 * prompts batched as diffusers' pipeline batches a prompt list). One invocation per iteration;
 * the score is milliseconds for all 64 images. Run from the repository root, or point
 * {@code -p model=} at the model folder.
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
      "-Dorg.bytedeco.javacpp.maxbytes=8G",
      "-Dorg.bytedeco.javacpp.maxphysicalbytes=10G"
    })
public class GenerationBenchmark {
  /** The captions of the comparison (also in generate.py): two per Fashion-MNIST class but bag and ankle boot. */
  public static final List<String> CAPTIONS = captions();
  public static final int IMAGES_PER_CAPTION = 4;
  public static final int STEPS = 10;
  public static final double GUIDANCE = 2.0;

  @Param({"examples/src/main/resources/io/github/stablerep/examples/tiny-sd-fmnist"})
  public String model;

  /** Images per pipeline call (a multiple of 4: whole captions); 64 is the whole set in one call. */
  @Param({"64"})
  public int imagesPerCall;

  private StableDiffusionPipeline pipe;
  private List<String> prompts;
  private INDArray latents;

  @Setup
  public void setUp() {
    Path dir = Path.of(model);
    if (!Files.isDirectory(dir)) {
      throw new IllegalArgumentException("model: expected the tiny-sd-fmnist folder (run from the repository root"
          + " or pass -p model=DIR), found " + dir.toAbsolutePath());
    }
    if (imagesPerCall < 1 || (CAPTIONS.size() * IMAGES_PER_CAPTION) % imagesPerCall != 0) {
      throw new IllegalArgumentException("imagesPerCall: expected a divisor of 64, found " + imagesPerCall);
    }
    pipe = StableDiffusionPipeline.builder().modelDirectory(dir).steps(STEPS).guidanceScale(GUIDANCE)
        .height(0).width(0).build();
    prompts = new ArrayList<>();
    for (String c : CAPTIONS) {
      for (int i = 0; i < IMAGES_PER_CAPTION; i++) {
        prompts.add(c);
      }
    }
    latents = pipe.initialLatents(0, prompts.size());
  }

  @Benchmark
  public List<INDArray> generate() {
    List<INDArray> out = new ArrayList<>();
    for (int from = 0; from < prompts.size(); from += imagesPerCall) {
      int to = from + imagesPerCall;
      out.add(pipe.generate(prompts.subList(from, to), latents.get(NDArrayIndex.interval(from, to)).dup(),
          StableDiffusionPipeline.Progress.NONE));
    }
    return out;
  }

  private static List<String> captions() {
    List<String> out = new ArrayList<>();
    for (String item : List.of("t-shirt", "pair of trousers", "pullover", "dress", "coat", "sandal", "shirt",
        "sneaker")) {
      out.add("a photo of a small dark " + item);
      out.add("a photo of a large light " + item);
    }
    return List.copyOf(out);
  }
}
