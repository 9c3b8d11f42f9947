package io.github.stablerep.models.vit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

class ProjectionHeadTest {

  private static ProjectionHead tiny(long seed) {
    return ProjectionHead.builder().inputDim(6).hiddenDim(10).outputDim(4).seed(seed).build();
  }

  private static INDArray randomMatrix(long seed, int rows, int cols) {
    Random random = new Random(seed);
    double[] v = new double[rows * cols];
    for (int i = 0; i < v.length; i++) {
      v[i] = random.nextGaussian();
    }
    return Nd4j.createFromArray(v).reshape(rows, cols);
  }

  @Test
  void defaultsAreStableReps() {
    ProjectionHead head = ProjectionHead.builder().build();
    assertThat(head.inputDim()).isEqualTo(768);
    assertThat(head.hiddenDim()).isEqualTo(4096);
    assertThat(head.outputDim()).isEqualTo(256);
    assertThat(head.layers()).isEqualTo(3);
    assertThat(head.batchNorm()).isTrue();
    assertThat(head.bnEps()).isEqualTo(1e-5);
    assertThat(head.bnMomentum()).isEqualTo(0.1);
    assertThat(head.sdShapes().keySet()).containsExactly(
        "layer1.weight", "layer1.bias", "bn1.weight", "bn1.bias", "bn1.running_mean", "bn1.running_var",
        "bn1.num_batches_tracked", "layer2.weight", "layer2.bias", "bn2.weight", "bn2.bias", "bn2.running_mean",
        "bn2.running_var", "bn2.num_batches_tracked", "layer3.weight", "layer3.bias");
    assertThat(head.sdShapes().get("layer3.weight")).containsExactly(4096, 256);
    assertThat(head.toBuilder().build().toString()).isEqualTo(head.toString());
  }

  @Test
  void buildNamesFieldRangeAndValue() {
    assertThatThrownBy(() -> ProjectionHead.builder().hiddenDim(0).build())
        .hasMessage("hiddenDim: expected >= 1, found 0");
    assertThatThrownBy(() -> ProjectionHead.builder().layers(0).build())
        .hasMessage("layers: expected >= 1, found 0");
    assertThatThrownBy(() -> ProjectionHead.builder().bnMomentum(1.5).build())
        .hasMessage("bnMomentum: expected a value in [0, 1], found 1.5");
    assertThatThrownBy(() -> ProjectionHead.builder().bnEps(0).build())
        .hasMessage("bnEps: expected a finite value > 0, found 0.0");
    SameDiff sd = SameDiff.create();
    SDVariable x = sd.placeHolder("x", DataType.FLOAT, 6, 6);
    assertThatThrownBy(() -> tiny(0).define(sd, x, 4, true))
        .hasMessage("features: expected N to be a multiple of viewChunks 4, found N = 6");
    assertThatThrownBy(() -> tiny(0).define(sd, sd.placeHolder("y", DataType.FLOAT, -1, 5), 1, true))
        .hasMessage("features: expected shape [N, 6], found [-1, 5]");
    assertThatThrownBy(() -> tiny(0).define(sd, x, 0, true)).hasMessage("viewChunks: expected >= 1, found 0");
  }

  @Test
  void initIsTorchDefaultAndSeeded() {
    ProjectionHead head = tiny(3);
    SameDiff a = SameDiff.create();
    head.define(a, a.placeHolder("x", DataType.FLOAT, -1, 6), 1, true);
    SameDiff b = SameDiff.create();
    head.define(b, b.placeHolder("x", DataType.FLOAT, -1, 6), 1, true);
    Map<String, INDArray> wa = head.exportWeights(a);
    assertThat(wa).isEqualTo(head.exportWeights(b));
    assertThat(wa).isNotEqualTo(tiny(4).exportWeights(defineOn(tiny(4))));
    // kaiming-uniform(a = sqrt 5) and the bias both give U(-1/sqrt(fan_in), 1/sqrt(fan_in))
    assertThat(wa.get("layer1.weight").amaxNumber().doubleValue()).isLessThanOrEqualTo(1 / Math.sqrt(6));
    assertThat(wa.get("layer2.bias").amaxNumber().doubleValue()).isLessThanOrEqualTo(1 / Math.sqrt(10));
    assertThat(wa.get("layer1.weight").shape()).containsExactly(10, 6);
    assertThat(wa.get("bn1.weight")).isEqualTo(Nd4j.ones(DataType.FLOAT, 10));
    assertThat(wa.get("bn1.running_var")).isEqualTo(Nd4j.ones(DataType.FLOAT, 10));
    assertThat(wa.get("bn1.running_mean")).isEqualTo(Nd4j.zeros(DataType.FLOAT, 10));
    assertThat(wa.get("bn1.num_batches_tracked").getLong(0)).isZero();
  }

  private static SameDiff defineOn(ProjectionHead head) {
    SameDiff sd = SameDiff.create();
    head.define(sd, sd.placeHolder("x", DataType.FLOAT, -1, head.inputDim()), 1, true);
    return sd;
  }

  @Test
  void exportThenImportIsTheIdentity() {
    Map<String, INDArray> w = tiny(1).exportWeights(defineOn(tiny(1)));
    SameDiff other = defineOn(tiny(2));
    tiny(2).importWeights(other, w);
    assertThat(tiny(2).exportWeights(other)).isEqualTo(w);
  }

  @Test
  void importListsEveryBadKey() {
    ProjectionHead head = tiny(1);
    SameDiff sd = defineOn(head);
    Map<String, INDArray> w = new LinkedHashMap<>(head.exportWeights(sd));
    INDArray before = w.get("layer2.bias").dup();
    w.remove("bn2.bias");
    w.put("layer1.weight", Nd4j.zeros(DataType.FLOAT, 6, 10));
    w.put("layer2.bias", Nd4j.zeros(DataType.FLOAT, 10).addi(5));
    w.put("head.extra", Nd4j.zeros(1));
    assertThatThrownBy(() -> head.importWeights(sd, w))
        .hasMessageContaining("1 missing, 1 mis-shaped, 1 unexpected")
        .hasMessageContaining("mis-shaped 'layer1.weight': expected shape [10, 6] (floating point), found [6, 10]")
        .hasMessageContaining("unexpected 'head.extra'")
        .hasMessageContaining("missing 'bn2.bias': expected shape [10]");
    assertThat(head.exportWeights(sd).get("layer2.bias")).isEqualTo(before);
  }

  /** The reference applies the MLP to each view chunk separately: the chunked graph must equal that. */
  @Test
  void chunkedTrainingEqualsRunningEachChunkAlone() {
    ProjectionHead head = tiny(5).toBuilder().bnMomentum(0.25).build();
    INDArray x = randomMatrix(11, 9, 6);
    SameDiff sd = SameDiff.create();
    ProjectionHeadGraph chunked = head.define(sd, sd.placeHolder("x", DataType.DOUBLE, -1, 6), 3, true);
    Map<String, INDArray> out = sd.output(Map.of("x", x), chunkedOutputs(chunked));
    chunked.updateRunningStatistics(out);

    SameDiff single = SameDiff.create();
    ProjectionHeadGraph one = head.define(single, single.placeHolder("x", DataType.DOUBLE, -1, 6), 1, true);
    for (int c = 0; c < 3; c++) {
      INDArray rows = x.get(org.nd4j.linalg.indexing.NDArrayIndex.interval(3 * c, 3 * c + 3),
          org.nd4j.linalg.indexing.NDArrayIndex.all());
      Map<String, INDArray> o = single.output(Map.of("x", rows.dup()), chunkedOutputs(one));
      one.updateRunningStatistics(o);
      INDArray expected = o.get(one.output().name());
      INDArray actual = out.get(chunked.output().name()).get(
          org.nd4j.linalg.indexing.NDArrayIndex.interval(3 * c, 3 * c + 3), org.nd4j.linalg.indexing.NDArrayIndex.all());
      assertThat(actual.equalsWithEps(expected, 1e-12)).as("chunk %s", c).isTrue();
    }
    Map<String, INDArray> a = head.exportWeights(sd);
    Map<String, INDArray> b = head.exportWeights(single);
    for (String key : a.keySet()) {
      assertThat(a.get(key).castTo(DataType.DOUBLE).equalsWithEps(b.get(key).castTo(DataType.DOUBLE), 1e-12))
          .as(key).isTrue();
    }
    assertThat(a.get("bn1.num_batches_tracked").getLong(0)).isEqualTo(3);
  }

  private static List<String> chunkedOutputs(ProjectionHeadGraph g) {
    List<String> names = new java.util.ArrayList<>(g.statisticNames());
    names.add(g.output().name());
    return names;
  }

  @Test
  void trainAndEvalGraphsShareVariablesAndEvalRefusesTheUpdate() {
    ProjectionHead head = tiny(1);
    SameDiff sd = SameDiff.create();
    SDVariable x = sd.placeHolder("x", DataType.FLOAT, -1, 6);
    ProjectionHeadGraph train = head.define(sd, x, 2, true);
    ProjectionHeadGraph eval = head.define(sd, x, 2, false);
    assertThat(train.output().name()).isNotEqualTo(eval.output().name());
    assertThat(eval.statisticNames()).isEmpty();
    assertThat(train.statisticNames()).hasSize(4);
    assertThat(sd.variables().stream().filter(v -> v.name().startsWith("image_mlp.layer1.weight")).count()).isEqualTo(1);
    assertThatThrownBy(() -> eval.updateRunningStatistics(Map.of()))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("inference mode");
    assertThatThrownBy(() -> train.updateRunningStatistics(Map.of()))
        .hasMessageContaining("expected the statistic 'image_mlp.bn1.batch_mean'");
  }

  /** Running statistics are constants: sd.save keeps them, and a reloaded graph reads them. */
  @Test
  void sameDiffSaveKeepsRunningStatistics(@org.junit.jupiter.api.io.TempDir java.nio.file.Path dir) {
    ProjectionHead head = tiny(8);
    SameDiff sd = SameDiff.create();
    SDVariable x = sd.placeHolder("x", DataType.FLOAT, -1, 6);
    ProjectionHeadGraph train = head.define(sd, x, 2, true);
    ProjectionHeadGraph eval = head.define(sd, x, 2, false);
    INDArray batch = randomMatrix(3, 8, 6).castTo(DataType.FLOAT);
    train.updateRunningStatistics(sd.output(Map.of("x", batch), chunkedOutputs(train)));
    INDArray evalBefore = sd.output(Map.of("x", batch), eval.output().name()).get(eval.output().name());

    java.io.File file = dir.resolve("head.sd").toFile();
    sd.save(file, true);
    SameDiff loaded = SameDiff.load(file, true);
    assertThat(head.exportWeights(loaded)).isEqualTo(head.exportWeights(sd));
    assertThat(head.exportWeights(loaded).get("bn2.num_batches_tracked").getLong(0)).isEqualTo(2);
    INDArray evalAfter = loaded.output(Map.of("x", batch), eval.output().name()).get(eval.output().name());
    assertThat(evalAfter).isEqualTo(evalBefore);
  }

  /** The default parameter groups decide the head by rank (no decay on biases and BN affine), so fit can train it. */
  @Test
  void trainsWithAdamW() {
    ProjectionHead head = tiny(2);
    SameDiff sd = SameDiff.create();
    SDVariable x = sd.placeHolder("x", DataType.FLOAT, -1, 6);
    ProjectionHeadGraph train = head.define(sd, x, 2, true);
    sd.setLossVariables(sd.sum("loss", train.output().mul(train.output())));
    io.github.stablerep.core.optim.AdamW adamW = io.github.stablerep.core.optim.AdamW.builder().build();
    adamW.trainingConfig(sd); // throws if a trainable variable needed a by-name rule
    INDArray before = sd.getVariable("image_mlp.layer3.weight").getArr().dup();
    Map<String, INDArray> ph = Map.of("x", randomMatrix(4, 8, 6).castTo(DataType.FLOAT));
    adamW.step(sd, sd.calculateGradients(ph, train.parameterNames()));
    assertThat(sd.getVariable("image_mlp.layer3.weight").getArr()).isNotEqualTo(before);
    assertThat(adamW.exportState()).containsKey("image_mlp.bn1.weight.exp_avg")
        .doesNotContainKey("image_mlp.bn1.running_mean.exp_avg");
  }

  @Test
  void withoutBatchNormItIsLinearReluStack() {
    ProjectionHead head = tiny(1).toBuilder().batchNorm(false).layers(2).build();
    SameDiff sd = defineOn(head);
    assertThat(head.exportWeights(sd).keySet())
        .containsExactly("layer1.weight", "layer1.bias", "layer2.weight", "layer2.bias");
  }
}
