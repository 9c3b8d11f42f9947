package io.github.stablerep.examples.train;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import io.github.stablerep.augment.data.CaptionDataset;
import io.github.stablerep.core.io.Npy;
import io.github.stablerep.core.io.SafeTensors;
import io.github.stablerep.examples.cli.StableRepCli;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Drop path is active in pre-training: with the same seed, rate 0 and rate 0.1 give different
 * first-step losses, and each matches tools/reference/drop_path_reference.py (timm's drop path
 * with the masks from the fed noise, in float64), for {@link Pretrainer} and for {@code stablerep
 * pretrain}. Before the fix, Pretrainer defined the inference graph and both rates gave the
 * rate-0 loss.
 */
class PretrainerDropPathTest {

  /** float32 forward of a 4-block ViT and BN head against float64: the loss agrees to ~1e-6. */
  static final double TOLERANCE = 2e-5;

  @TempDir
  static Path tmp;
  static CaptionDataset dataset;
  static Path data;
  static double golden;
  static double goldenRate0;

  @BeforeAll
  static void setUp() throws Exception {
    data = tmp.resolve("data");
    dataset = DropPathGolden.dataset(data);
    golden = Npy.read(DropPathGolden.DIR.resolve("loss.npy")).getDouble(0);
    goldenRate0 = Npy.read(DropPathGolden.DIR.resolve("loss_rate0.npy")).getDouble(0);
    // the two goldens are far apart compared with the tolerance, so matching one is telling
    assertThat(Math.abs(golden - goldenRate0)).isGreaterThan(1000 * TOLERANCE);
  }

  /** The reference's inputs are still what the first step starts from, bit for bit. */
  @Test
  void theGoldenInputsAreThisRunsFirstStep() throws Exception {
    Map<String, INDArray> stored = SafeTensors.read(DropPathGolden.DIR.resolve("inputs.safetensors"));
    Map<String, INDArray> now = DropPathGolden.inputs(DropPathGolden.pretrainer(dataset, DropPathGolden.RATE));
    assertThat(now.keySet()).containsExactlyInAnyOrderElementsOf(stored.keySet());
    for (String k : stored.keySet()) {
      assertThat(now.get(k).castTo(stored.get(k).dataType())).as(k).isEqualTo(stored.get(k));
    }
  }

  @Test
  void pretrainerTrainsWithDropPath() throws Exception {
    double rate0 = DropPathGolden.pretrainer(dataset, 0.0).train(null, null).losses()[0];
    double rate = DropPathGolden.pretrainer(dataset, DropPathGolden.RATE).train(null, null).losses()[0];
    System.out.printf("pretrainer first-step loss: rate 0 %.8f (reference %.8f), rate %.1f %.8f (reference %.8f)%n",
        rate0, goldenRate0, DropPathGolden.RATE, rate, golden);
    assertThat(rate).isNotEqualTo(rate0);
    assertThat(rate).isCloseTo(golden, within(TOLERANCE));
    assertThat(rate0).isCloseTo(goldenRate0, within(TOLERANCE));
  }

  @Test
  void pretrainCommandTrainsWithDropPath() throws Exception {
    double rate0 = cliFirstLoss(0.0, tmp.resolve("cli0/ck.safetensors"));
    double rate = cliFirstLoss(DropPathGolden.RATE, tmp.resolve("cli1/ck.safetensors"));
    assertThat(rate).isNotEqualTo(rate0);
    assertThat(rate).isCloseTo(golden, within(TOLERANCE));
    assertThat(rate0).isCloseTo(goldenRate0, within(TOLERANCE));
  }

  private static double cliFirstLoss(double rate, Path checkpoint) throws Exception {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    int code;
    try (PrintStream o = new PrintStream(out, true, StandardCharsets.UTF_8);
        PrintStream e = new PrintStream(err, true, StandardCharsets.UTF_8)) {
      code = StableRepCli.execute(o, e, DropPathGolden.cliArgs(data, checkpoint, rate).toArray(new String[0]));
    }
    assertThat(code).as(err.toString(StandardCharsets.UTF_8)).isZero();
    double[] history = LossHistory.read(LossHistory.fileOf(checkpoint));
    assertThat(history).hasSize(1);
    return history[0];
  }
}
