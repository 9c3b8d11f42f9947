package io.github.stablerep.examples.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.stablerep.core.Goldens;
import io.github.stablerep.core.io.Npy;
import io.github.stablerep.core.io.SafeTensors;
import io.github.stablerep.models.vit.VisionTransformer;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * {@code export} and {@code embed} against PyTorch: tools/reference/cli_reference.py writes a
 * training checkpoint of a torchvision ViT in this library's layouts, the same weights as PyTorch
 * holds them under timm's keys, four PNGs and torchvision's float64 features of them.
 */
class StableRepCliGoldenTest {

  @TempDir Path tmp;

  static final Path GOLDEN = Goldens.dir("cli");

  static int run(String... args) {
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    try (PrintStream o = new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8);
        PrintStream e = new PrintStream(err, true, StandardCharsets.UTF_8)) {
      int code = StableRepCli.execute(o, e, args);
      assertThat(code).as(err.toString(StandardCharsets.UTF_8)).isZero();
      return code;
    }
  }

  /**
   * The fixture checkpoint predates stored configs (its metadata has only {@code user.vit.heads}),
   * so it is read through the legacy path: the architecture of cli_reference.py given as a config.
   */
  Path legacyConfig() throws Exception {
    return Files.writeString(tmp.resolve("vit.json"), VisionTransformer.builder().imageSize(16).patchSize(8).width(16)
        .depth(2).heads(2).mlpRatio(4.0).build().toConfig());
  }

  /** The export holds exactly PyTorch's state dict: same keys, shapes and float32 values. */
  @Test
  void exportIsPyTorchsStateDict() throws Exception {
    Path out = tmp.resolve("vit.safetensors");
    run("export", "--checkpoint", GOLDEN.resolve("checkpoint.safetensors").toString(), "--config",
        legacyConfig().toString(), "--out", out.toString());
    Map<String, INDArray> expected = SafeTensors.read(GOLDEN.resolve("timm.safetensors"));
    Map<String, INDArray> actual = SafeTensors.read(out);
    assertThat(actual.keySet()).containsExactlyInAnyOrderElementsOf(expected.keySet());
    expected.forEach((k, v) -> assertThat(actual.get(k)).as(k).isEqualTo(v));
    assertThat(VisionTransformer.fromConfig(SafeTensors.metadata(out).get("config.vit")).heads()).isEqualTo(2);
  }

  /** Features from the checkpoint, and from PyTorch's timm-keyed file, match torchvision's (relative L2 1e-4). */
  @Test
  void embedMatchesTorchvisionFeatures() throws Exception {
    INDArray expected = Npy.read(GOLDEN.resolve("features.npy"));
    Path a = tmp.resolve("a.npy");
    run("embed", "--images", GOLDEN.resolve("images").toString(), "--checkpoint",
        GOLDEN.resolve("checkpoint.safetensors").toString(), "--config", legacyConfig().toString(), "--resize", "16",
        "--out", a.toString());
    double errA = Goldens.assertClose("embed --checkpoint", expected, Npy.read(a), 1e-4);
    Path b = tmp.resolve("b.npy");
    run("embed", "--images", GOLDEN.resolve("images").toString(), "--weights",
        GOLDEN.resolve("timm.safetensors").toString(), "--config", legacyConfig().toString(), "--resize", "16",
        "--out", b.toString());
    double errB = Goldens.assertClose("embed --weights", expected, Npy.read(b), 1e-4);
    System.out.printf("cli golden: embed relative L2 error %.2e (checkpoint), %.2e (timm weights)%n", errA, errB);
  }
}
