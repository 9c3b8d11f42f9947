package io.github.stablerep.benchmarks;

import io.github.stablerep.augment.AugmentationGraph;
import io.github.stablerep.augment.Images;
import io.github.stablerep.augment.SimClrAugmentation;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.Stream;
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
 * StableRep's augmentation ({@code SimClrAugmentation.stableRep(224)}) on a batch of 64 real
 * photographs at 256x256, the same PNGs that benchmarks/compare/augment.py feeds to
 * torchvision's PIL pipeline ({@code augment.py --make-images DIR} writes them; {@code -p
 * images=DIR} points here, default {@code benchmarks/target/augment-images} relative to the
 * working directory).
 *
 * <ul>
 *   <li>{@link #apply}: the eager pipeline on the decoded batch [64,3,256,256], a new seed per
 *       call (so every call draws new crops, jitter and blur);
 *   <li>{@link #applyInto}: the same, writing into one output array reused across calls
 *       ({@code apply(batch, seed, out)}): what {@link #apply} costs without the page faults of
 *       a fresh 38.5 MB output (about 2 ms of CPU per sample on this machine);
 *   <li>{@link #graph}: the SameDiff form ({@code define} + {@code feed}), same batch and seeds;
 *   <li>{@link #readAndApply}: decode the 64 PNGs with {@link Images#read} (in parallel on the
 *       common pool), stack, then {@link #apply}: what the reference's loader does per batch.
 * </ul>
 *
 * <p>Score: ms per batch of 64; images/s = 64000 / score. The parallel work runs on the common
 * fork-join pool: with 2 cores that is the calling thread plus one worker, the same two
 * workers augment.py gives its DataLoader.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 3)
@Fork(
    value = 1,
    jvmArgsAppend = {
      "-Dorg.bytedeco.javacpp.platform.extension=-onednn",
      "-Xmx2g",
      "-Dorg.bytedeco.javacpp.maxbytes=6G",
      "-Dorg.bytedeco.javacpp.maxphysicalbytes=8G"
    })
public class AugmentBenchmark {

  /** Batch size, as in the issue and augment.py. */
  public static final int BATCH = 64;

  @Param({"benchmarks/target/augment-images"})
  public String images;

  private List<Path> files;
  private INDArray batch;
  private SimClrAugmentation aug;
  private AugmentationGraph graph;
  private long seed;
  private INDArray out;

  @Setup
  public void setUp() throws IOException {
    try (Stream<Path> s = Files.list(Path.of(images))) {
      files = s.filter(p -> p.toString().endsWith(".png")).sorted().collect(Collectors.toList());
    }
    if (files.size() != BATCH) {
      throw new IllegalStateException("images: expected " + BATCH + " PNGs in " + images
          + ", found " + files.size() + " (run benchmarks/compare/augment.py --make-images)");
    }
    batch = read();
    aug = SimClrAugmentation.stableRep(224);
    out = Nd4j.create(DataType.FLOAT, BATCH, 3, 224, 224);
    SameDiff sd = SameDiff.create();
    graph = aug.define(sd, sd.placeHolder("images", DataType.FLOAT, -1, 3, 256, 256));
  }

  private INDArray read() {
    INDArray[] xs = files.parallelStream().map(p -> {
      try {
        return Images.read(p);
      } catch (IOException e) {
        throw new UncheckedIOException(e);
      }
    }).toArray(INDArray[]::new);
    return Nd4j.stack(0, xs);
  }

  @Benchmark
  public INDArray apply() {
    return aug.apply(batch, seed++);
  }

  @Benchmark
  public INDArray applyInto() {
    return aug.apply(batch, seed++, out);
  }

  @Benchmark
  public INDArray graph() {
    return graph.apply(batch, seed++);
  }

  @Benchmark
  public INDArray readAndApply() {
    return aug.apply(read(), seed++);
  }
}
