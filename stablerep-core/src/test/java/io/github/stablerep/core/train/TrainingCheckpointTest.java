package io.github.stablerep.core.train;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.github.stablerep.core.io.SafeTensors;
import io.github.stablerep.core.io.SafeTensorsException;
import io.github.stablerep.core.optim.AdamW;
import io.github.stablerep.core.optim.WarmupCosineSchedule;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/** A killed run resumed from a checkpoint must give bitwise the parameters of an uninterrupted one. */
class TrainingCheckpointTest {

  private static final int STEPS = 8;
  private static final int KILLED_AFTER = 3;
  private static final long DATA_SEED = 99;

  @TempDir Path dir;

  /** A tiny 2-layer MLP regression; the init depends on {@code initSeed} so a fresh model differs. */
  private static SameDiff model(long initSeed) {
    SameDiff sd = SameDiff.create();
    SDVariable x = sd.placeHolder("x", DataType.FLOAT, -1, 3);
    SDVariable y = sd.placeHolder("y", DataType.FLOAT, -1, 2);
    SDVariable w1 = sd.var("fc1.weight", gaussian(initSeed, 3, 5));
    SDVariable b1 = sd.var("fc1.bias", gaussian(initSeed + 1, 5));
    SDVariable w2 = sd.var("fc2.weight", gaussian(initSeed + 2, 5, 2));
    // a constant that the loop changes, like BatchNorm running statistics
    sd.constant("running", Nd4j.zeros(DataType.FLOAT, 5));
    SDVariable h = sd.nn.relu(x.mmul(w1).add(b1), 0);
    SDVariable d = h.mmul(w2).sub(y);
    sd.setLossVariables(sd.mean("loss", d.mul(d)));
    return sd;
  }

  private static INDArray gaussian(long seed, long... shape) {
    Random r = new Random(seed);
    long n = Arrays.stream(shape).reduce(1, (a, b) -> a * b);
    float[] v = new float[(int) n];
    for (int i = 0; i < v.length; i++) {
      v[i] = (float) r.nextGaussian();
    }
    return Nd4j.createFromArray(v).reshape(shape);
  }

  private static AdamW optimizer() {
    // warm-up + cosine over the run, so a lost step count would change the learning rate
    return AdamW.builder()
        .learningRate(WarmupCosineSchedule.builder().baseLr(0.05).minLr(0.001).epochs(1, 4, 2).build())
        .stepsPerEpoch(2)
        .build();
  }

  /** Step {@code step}'s batch and running-statistic update derive from (seed, step) only. */
  private static void trainStep(SameDiff sd, AdamW opt, long seed, long step) {
    Map<String, INDArray> ph = Map.of("x", gaussian(seed * 1000 + step, 4, 3), "y", gaussian(seed * 1000 + step + 500, 4, 2));
    Map<String, INDArray> grads = sd.calculateGradients(ph, List.of("fc1.weight", "fc1.bias", "fc2.weight"));
    opt.step(sd, grads);
    INDArray running = sd.getVariable("running").getArr();
    running.muli(0.9f).addi(sd.getVariable("fc1.bias").getArr().mul(0.1f));
  }

  @Test
  void resumeIsBitForBit() throws IOException {
    SameDiff straight = model(1);
    AdamW straightOpt = optimizer();
    for (long s = 0; s < STEPS; s++) {
      trainStep(straight, straightOpt, DATA_SEED, s);
    }

    SameDiff killed = model(1);
    AdamW killedOpt = optimizer();
    for (long s = 0; s < KILLED_AFTER; s++) {
      trainStep(killed, killedOpt, DATA_SEED, s);
    }
    Path file = dir.resolve("ckpt.safetensors");
    TrainingCheckpoint.capture(killed, killedOpt)
        .step(KILLED_AFTER).epoch(1).rngSeed(DATA_SEED).metadata(Map.of("run", "tiny")).build()
        .write(file);

    SameDiff resumed = model(12345);
    AdamW resumedOpt = optimizer();
    TrainingCheckpoint ckpt = TrainingCheckpoint.read(file);
    ckpt.restore(resumed, resumedOpt);
    assertThat(ckpt.step()).isEqualTo(KILLED_AFTER);
    assertThat(ckpt.epoch()).isEqualTo(1);
    assertThat(ckpt.metadata()).containsEntry("run", "tiny");
    assertThat(resumedOpt.stepCount()).isEqualTo(KILLED_AFTER);
    for (long s = ckpt.step(); s < STEPS; s++) {
      trainStep(resumed, resumedOpt, ckpt.rngSeed(), s);
    }

    for (String name : List.of("fc1.weight", "fc1.bias", "fc2.weight", "running")) {
      INDArray a = straight.getVariable(name).getArr();
      INDArray b = resumed.getVariable(name).getArr();
      // Arrays.equals(float[], float[]) compares floatToIntBits: bitwise
      assertThat(Arrays.equals(a.ravel().toFloatVector(), b.ravel().toFloatVector())).as(name + " bits").isTrue();
      assertThat(a.ravel().toFloatVector()).as(name + " moved").isNotEqualTo(model(1).getVariable(name).getArr().ravel().toFloatVector());
    }
    Map<String, INDArray> sa = straightOpt.exportState();
    Map<String, INDArray> sb = resumedOpt.exportState();
    assertThat(sb.keySet()).isEqualTo(sa.keySet());
    for (String k : sa.keySet()) {
      assertThat(Arrays.equals(sa.get(k).castTo(DataType.DOUBLE).ravel().toDoubleVector(),
          sb.get(k).castTo(DataType.DOUBLE).ravel().toDoubleVector())).as(k).isTrue();
    }
  }

  @Test
  void truncatedFileFailsClearly() throws IOException {
    SameDiff sd = model(1);
    AdamW opt = optimizer();
    trainStep(sd, opt, DATA_SEED, 0);
    Path file = dir.resolve("ckpt.safetensors");
    TrainingCheckpoint.capture(sd, opt).step(1).build().write(file);
    byte[] bytes = Files.readAllBytes(file);
    Path cut = dir.resolve("cut.safetensors");
    Files.write(cut, Arrays.copyOf(bytes, bytes.length - 7));
    assertThatThrownBy(() -> TrainingCheckpoint.read(cut))
        .isInstanceOf(SafeTensorsException.class)
        .hasMessageContaining("cut.safetensors");
    Files.write(cut, Arrays.copyOf(bytes, 5));
    assertThatThrownBy(() -> TrainingCheckpoint.read(cut)).isInstanceOf(SafeTensorsException.class);
  }

  @Test
  void plainSafetensorsIsNotACheckpoint() throws IOException {
    Path file = dir.resolve("weights.safetensors");
    SafeTensors.write(file, Map.of("w", Nd4j.ones(2)));
    assertThatThrownBy(() -> TrainingCheckpoint.read(file))
        .isInstanceOf(SafeTensorsException.class)
        .hasMessageContaining("expected metadata format = stablerep4j-training-checkpoint/1")
        .hasMessageContaining("found no such entry");
  }

  @Test
  void restoreListsMismatchesAndChangesNothing() {
    SameDiff sd = model(1);
    AdamW opt = optimizer();
    trainStep(sd, opt, DATA_SEED, 0);
    TrainingCheckpoint ckpt = TrainingCheckpoint.capture(sd, opt).build();
    Map<String, INDArray> model = new java.util.LinkedHashMap<>(ckpt.model());
    model.remove("fc1.bias");
    model.put("fc2.weight", Nd4j.zeros(DataType.FLOAT, 2, 5));
    model.put("extra", Nd4j.zeros(1));
    SameDiff other = model(2);
    INDArray before = other.getVariable("fc2.weight").getArr().dup();
    AdamW fresh = optimizer();
    assertThatThrownBy(() -> ckpt.toBuilder().model(model).build().restore(other, fresh))
        .hasMessageContaining("3 problem(s)")
        .hasMessageContaining("'fc2.weight': expected FLOAT[5, 2], found FLOAT[2, 5]")
        .hasMessageContaining("'extra': no such variable or constant in sd")
        .hasMessageContaining("'fc1.bias': trainable variable missing from the checkpoint");
    assertThat(other.getVariable("fc2.weight").getArr()).isEqualTo(before);
    assertThat(fresh.stepCount()).isZero();
    assertThatThrownBy(() -> TrainingCheckpoint.builder().step(-1).build()).hasMessage("step: expected >= 0, found -1");
  }
}
