package io.github.stablerep.benchmarks;

import io.github.stablerep.core.loss.LossResult;
import io.github.stablerep.core.loss.MultiPositiveContrastiveLoss;
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
 * Forward + backward of the multi-positive contrastive loss at StableRep's batch shapes, eager
 * and as a SameDiff graph. The PyTorch side of the comparison is benchmarks/compare/loss.py,
 * which times the official formulation at the same shapes and thread count.
 *
 * <p>Shapes: "256x4" is N = 1024 (256 captions × 4 images), "43x6" is N = 258 (43 × 6), both
 * with D = 256 and τ = 0.1. Ids are view-major as the reference builds them. The id bookkeeping
 * runs inside the timed region, as in the Python script.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 5, time = 1)
@Measurement(iterations = 10, time = 1)
@Fork(value = 1, jvmArgsAppend = {"-Dorg.bytedeco.javacpp.platform.extension=-onednn", "-Xmx4g"})
public class LossBenchmark {

  @Param({"256x4", "43x6"})
  public String shape;

  @Param({"256"})
  public int dim;

  private INDArray embeddings;
  private INDArray ids;
  private MultiPositiveContrastiveLoss loss;
  private SameDiff graph;
  private Map<String, INDArray> placeholders;

  @Setup
  public void setUp() {
    String[] parts = shape.split("x");
    int captions = Integer.parseInt(parts[0]);
    int views = Integer.parseInt(parts[1]);
    int n = captions * views;
    long[] labels = new long[n];
    for (int i = 0; i < n; i++) {
      labels[i] = i % captions;
    }
    embeddings = Nd4j.randn(1234L, new long[] {n, dim}).castTo(DataType.FLOAT);
    ids = Nd4j.createFromArray(labels);
    loss = MultiPositiveContrastiveLoss.builder().temperature(0.1).build();

    graph = SameDiff.create();
    // a variable, not a placeholder: SameDiff differentiates only with respect to variables
    SDVariable emb = graph.var("emb", embeddings.dup());
    SDVariable id = graph.placeHolder("ids", DataType.INT64, -1);
    loss.define(graph, "loss", emb, id);
    graph.setLossVariables("loss");
    placeholders = Map.of("ids", ids);
    graph.calculateGradients(placeholders, "emb");
  }

  @Benchmark
  public LossResult eagerForwardBackward() {
    return loss.compute(embeddings, ids);
  }

  @Benchmark
  public INDArray graphForwardBackward() {
    return graph.calculateGradients(placeholders, "emb").get("emb");
  }
}
