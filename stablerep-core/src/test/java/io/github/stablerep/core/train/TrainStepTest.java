package io.github.stablerep.core.train;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.github.stablerep.core.optim.AdamW;
import io.github.stablerep.core.optim.GradientClipping;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

class TrainStepTest {

  /**
   * A part that scales the graph's input by a fed per-sample noise placeholder and keeps a
   * running sum of a forward statistic, so the step must feed, fetch and update for the result
   * to match the hand-written loop.
   */
  static final class NoisyPart implements TrainingPart {
    final SameDiff sd;
    final List<String> updates = new ArrayList<>();
    double runningSum;

    NoisyPart(SameDiff sd) {
      this.sd = sd;
    }

    @Override
    public List<String> parameterNames() {
      return List.of("w1", "b1");
    }

    @Override
    public Map<String, INDArray> stepFeeds(int batchSize, long seed) {
      return Map.of("noise", noise(batchSize, seed));
    }

    @Override
    public List<String> statisticNames() {
      return List.of("stat");
    }

    @Override
    public void updateStatistics(Map<String, INDArray> outputs) {
      runningSum += outputs.get("stat").getDouble(0);
      updates.add("stat");
    }
  }

  static INDArray noise(int n, long seed) {
    return GradientsTest.gaussian(new Random(seed), n, 1).muli(0.1).addi(1.0);
  }

  /** GradientsTest's graph with a noise placeholder on its input and a monitored statistic. */
  static SameDiff graph() {
    SameDiff sd = GradientsTest.graph();
    SDVariable noise = sd.placeHolder("noise", DataType.FLOAT, -1, 1);
    // re-route: x * noise feeds the first layer through a new input placeholder "x0"
    SDVariable x0 = sd.placeHolder("x0", DataType.FLOAT, -1, 12);
    sd.identity("stat", x0.mul(noise).mean());
    return sd;
  }

  static Map<String, INDArray> batch(int step) {
    Random rng = new Random(100 + step);
    int n = 6;
    return Map.of("x", GradientsTest.gaussian(rng, n, 12), "x0", GradientsTest.gaussian(rng, n, 12),
        "ids", Nd4j.createFromArray(0L, 1, 2, 0, 1, 2));
  }

  /**
   * Three steps of TrainStep give bit for bit the parameters, losses, learning rates, norms and
   * statistics of the loop it replaces: feeds, sd.calculateGradients, clipping, AdamW, update.
   */
  @Test
  void equalsTheHandWrittenLoopBitForBit() {
    SameDiff reference = graph();
    SameDiff library = graph();
    AdamW refOpt = AdamW.builder().learningRate(0.05).build();
    NoisyPart refPart = new NoisyPart(reference);
    NoisyPart part = new NoisyPart(library);
    TrainStep step = TrainStep.builder().graph(library).parts(part).parameters(List.of("w2", "g"))
        .optimizer(AdamW.builder().learningRate(0.05).build()).clipGradientNorm(0.5).noiseSeed(7).build();
    assertThat(step.parameterNames()).containsExactly("w1", "b1", "w2", "g");
    assertThat(step.lossName()).isEqualTo("loss");
    for (int s = 0; s < 3; s++) {
      Map<String, INDArray> feed = new HashMap<>(batch(s));
      feed.put("noise", noise(6, 7 * 1_000_003L + s));
      Map<String, INDArray> grads = reference.calculateGradients(feed, GradientsTest.PARAMETERS);
      Map<String, INDArray> out = reference.output(feed, "loss", "stat");
      double norm = GradientClipping.clipByGlobalNorm(grads, 0.5);
      double lr = refOpt.step(reference, grads);
      refPart.updateStatistics(out);

      TrainStep.Result r = step.run(batch(s));
      assertThat(r.step()).isEqualTo(s);
      assertThat(r.loss()).isEqualTo(out.get("loss").getDouble(0));
      assertThat(r.learningRate()).isEqualTo(lr);
      assertThat(r.gradientNorm()).isEqualTo(norm);
      assertThat(r.outputs()).containsOnlyKeys("loss", "stat");
      for (String v : GradientsTest.PARAMETERS) {
        assertThat(library.getArrForVarName(v).dup().data().asFloat()).as("%s, step %s", v, s)
            .containsExactly(reference.getArrForVarName(v).dup().data().asFloat());
      }
    }
    assertThat(part.updates).hasSize(3);
    assertThat(part.runningSum).isEqualTo(refPart.runningSum);
    assertThat(step.stepCount()).isEqualTo(3);
  }

  @Test
  void withoutClippingTheNormIsNaNAndOutputsAreUnmodifiable() {
    TrainStep step = TrainStep.builder().graph(GradientsTest.graph()).parameters(GradientsTest.PARAMETERS)
        .outputs("loss").build();
    Map<String, INDArray> b = new HashMap<>(batch(0));
    b.remove("x0");
    TrainStep.Result r = step.run(b);
    assertThat(r.gradientNorm()).isNaN();
    assertThat(r.learningRate()).isEqualTo(AdamW.builder().build().currentLearningRate());
    assertThatThrownBy(() -> r.outputs().clear()).isInstanceOf(UnsupportedOperationException.class);
  }

  @Test
  void runRejectsFeedingAPartsPlaceholderAndDisagreeingBatchSizes() {
    SameDiff sd = graph();
    TrainStep step = TrainStep.builder().graph(sd).parts(new NoisyPart(sd)).build();
    Map<String, INDArray> fed = new HashMap<>(batch(0));
    fed.put("noise", noise(6, 1));
    assertThatThrownBy(() -> step.run(fed)).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("batch").hasMessageContaining("'noise'");
    Map<String, INDArray> ragged = new HashMap<>(batch(0));
    ragged.put("x0", Nd4j.zeros(DataType.FLOAT, 4, 12));
    assertThatThrownBy(() -> step.run(ragged)).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("batch size").hasMessageContaining("batchPlaceholder");
    assertThatThrownBy(() -> step.run(null)).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("batch");
    assertThat(step.stepCount()).isZero();
  }

  @Test
  void aNonFiniteLossUpdatesNothing() {
    SameDiff sd = GradientsTest.graph();
    TrainStep step = TrainStep.builder().graph(sd).parameters(GradientsTest.PARAMETERS).build();
    INDArray w1 = sd.getArrForVarName("w1").dup();
    Map<String, INDArray> b = new HashMap<>(batch(0));
    b.remove("x0");
    b.put("x", Nd4j.valueArrayOf(new long[] {6, 12}, Float.NaN).castTo(DataType.FLOAT));
    assertThatThrownBy(() -> step.run(b)).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("loss").hasMessageContaining("step 0");
    assertThat(sd.getArrForVarName("w1").data().asFloat()).containsExactly(w1.data().asFloat());
    assertThat(step.stepCount()).isZero();
  }

  @Test
  void buildValidatesNamingTheField() {
    SameDiff sd = GradientsTest.graph();
    assertThatThrownBy(() -> TrainStep.builder().build()).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("graph");
    assertThatThrownBy(() -> TrainStep.builder().graph(sd).build()).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("parameters").hasMessageContaining("none");
    assertThatThrownBy(() -> TrainStep.builder().graph(sd).parameters(List.of("w1", "nope")).build())
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("'nope'");
    assertThatThrownBy(() -> TrainStep.builder().graph(sd).parameters(List.of("w1", "w1")).build())
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("repeats [w1]");
    assertThatThrownBy(() -> TrainStep.builder().graph(sd).parameters(List.of("w1")).loss("w2").build())
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("loss").hasMessageContaining("[loss]");
    assertThatThrownBy(() -> TrainStep.builder().graph(sd).parameters(List.of("w1")).clipGradientNorm(0).build())
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("clipGradientNorm")
        .hasMessageContaining("0.0");
    assertThatThrownBy(() -> TrainStep.builder().graph(sd).parameters(List.of("w1")).outputs("zz").build())
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("outputs").hasMessageContaining("'zz'");
    assertThatThrownBy(() -> TrainStep.builder().graph(sd).parameters(List.of("w1")).batchPlaceholder("w1").build())
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("batchPlaceholder");
  }

  @Test
  void aGraphWithoutLossVariableGetsTheNamedOne() {
    SameDiff sd = SameDiff.create();
    SDVariable x = sd.placeHolder("x", DataType.FLOAT, -1, 3);
    SDVariable w = sd.var("w", Nd4j.ones(DataType.FLOAT, 3, 1));
    sd.identity("l", x.mmul(w).mean());
    TrainStep step = TrainStep.builder().graph(sd).loss("l").parameters(List.of("w")).build();
    assertThat(sd.getLossVariables()).containsExactly("l");
    assertThat(step.run(Map.of("x", Nd4j.ones(DataType.FLOAT, 2, 3))).loss()).isEqualTo(3.0);
  }
}
