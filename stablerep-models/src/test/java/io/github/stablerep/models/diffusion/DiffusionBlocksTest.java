package io.github.stablerep.models.diffusion;

import io.github.stablerep.models.WeightReport;
import static org.assertj.core.api.Assertions.assertThat;

import io.github.stablerep.core.Goldens;
import io.github.stablerep.core.io.SafeTensors;
import io.github.stablerep.models.internal.ImageLayers;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Function;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Each UNet/VAE building block against the diffusers module it reproduces
 * (tools/reference/unet_vae_reference.py: random weights rounded to fp32, float64 outputs),
 * with the weights loaded through the diffusers-key loader.
 */
class DiffusionBlocksTest {
  /** fp32 arithmetic against float64 on the same weights. */
  static final double FP32_TOL = 1e-5;
  /** In double, rounding only. */
  static final double FP64_TOL = 1e-10;

  static void report(double relL2) {
    System.out.printf("diffusion block parity: relative L2 %.3g%n", relL2);
  }

  static double tol(DataType type) {
    return type == DataType.FLOAT ? FP32_TOL : FP64_TOL;
  }

  /** Defines a block on the given inputs (placeholders "in0", "in1", ...), loads the case's weights, runs it. */
  static INDArray run(String name, DataType type, Function<ModuleParams, SDVariable> block) throws Exception {
    SameDiff sd = SameDiff.create();
    ModuleParams p = new ModuleParams(sd, "b", type, 0, null, false);
    SDVariable out = block.apply(p);
    Map<String, INDArray> weights = SafeTensors.read(Goldens.dir("diffusion/blocks/" + name).resolve("weights.safetensors"));
    WeightReport report = ModuleWeights.load(sd, "b", weights, name);
    assertThat(report.unexpected()).as("unexpected keys").isEmpty();
    assertThat(report.loaded()).hasSize(weights.size());
    Map<String, INDArray> feeds = new LinkedHashMap<>();
    for (String ph : sd.inputs()) {
      feeds.put(ph, Goldens.npy(dir(name), ph).castTo(type));
    }
    return sd.output(feeds, out.name()).get(out.name());
  }

  static Path dir(String name) {
    return Goldens.dir("diffusion/blocks/" + name);
  }

  static SDVariable input(ModuleParams p, String name, long... shape) {
    return p.sd().placeHolder(name, p.dataType(), shape);
  }

  @ParameterizedTest
  @EnumSource(names = {"FLOAT", "DOUBLE"})
  void groupNormMatchesTorch(DataType type) throws Exception {
    INDArray out = run("groupnorm", type, p -> DiffusionBlocks.groupNormLayer(p, "",
        input(p, "input", -1, 12, -1, -1), 3, 12, 1e-6));
    report(Goldens.assertClose("groupnorm " + type, Goldens.npy(dir("groupnorm"), "output"), out, tol(type)));
  }

  @ParameterizedTest
  @EnumSource(names = {"FLOAT", "DOUBLE"})
  void resnetBlockWithTimeEmbeddingAndShortcutMatchesDiffusers(DataType type) throws Exception {
    INDArray out = run("resnet", type, p -> DiffusionBlocks.resnet(p, "", input(p, "input", -1, 8, 6, 6),
        input(p, "temb", -1, 16), 8, 12, 16, 4, 1e-5, 1.0));
    report(Goldens.assertClose("resnet " + type, Goldens.npy(dir("resnet"), "output"), out, tol(type)));
  }

  @ParameterizedTest
  @EnumSource(names = {"FLOAT", "DOUBLE"})
  void downsampleMatchesDiffusersForBothPaddings(DataType type) throws Exception {
    for (int pad : new int[] {0, 1}) {
      String name = "downsample_pad" + pad;
      INDArray out = run(name, type, p -> DiffusionBlocks.downsample(p, "", input(p, "input", -1, 6, -1, -1), 6, pad));
      report(Goldens.assertClose(name + " " + type, Goldens.npy(dir(name), "output"), out, tol(type)));
    }
  }

  @ParameterizedTest
  @EnumSource(names = {"FLOAT", "DOUBLE"})
  void upsampleMatchesDiffusers(DataType type) throws Exception {
    INDArray out = run("upsample", type, p -> DiffusionBlocks.upsample(p, "", input(p, "input", -1, 6, -1, -1), 6));
    report(Goldens.assertClose("upsample " + type, Goldens.npy(dir("upsample"), "output"), out, tol(type)));
  }

  @ParameterizedTest
  @EnumSource(names = {"FLOAT", "DOUBLE"})
  void transformer2dMatchesDiffusersWithConvAndLinearProjections(DataType type) throws Exception {
    for (boolean linear : new boolean[] {false, true}) {
      String name = linear ? "transformer_linear" : "transformer_conv";
      INDArray out = run(name, type, p -> DiffusionBlocks.transformer2d(p, "", input(p, "input", -1, 8, -1, -1),
          input(p, "context", -1, -1, 6), 8, 6, 2, 4, 1, 4, linear, -1));
      report(Goldens.assertClose(name + " " + type, Goldens.npy(dir(name), "output"), out, tol(type)));
    }
  }

  @ParameterizedTest
  @EnumSource(names = {"FLOAT", "DOUBLE"})
  void timestepEmbeddingMatchesDiffusers(DataType type) throws Exception {
    Path d = dir("timestep");
    SameDiff sd = SameDiff.create();
    SDVariable t = sd.placeHolder("timesteps", DataType.DOUBLE, -1);
    SDVariable flip = DiffusionBlocks.timestepSinusoid(sd, t, 10, true, 0, type);
    SDVariable odd = DiffusionBlocks.timestepSinusoid(sd, t, 11, false, 1, type);
    ModuleParams p = new ModuleParams(sd, "b", type, 0, null, false);
    SDVariable mlp = DiffusionBlocks.timestepEmbedding(p, "", flip, 10, 16);
    ModuleWeights.load(sd, "b", SafeTensors.read(d.resolve("weights.safetensors")), "timestep");
    Map<String, INDArray> out = sd.output(Map.of("timesteps", Goldens.npy(d, "timesteps")),
        flip.name(), odd.name(), mlp.name());
    // both sides compute the sinusoid in float32; 1 ulp of exp may differ, so fp32 tolerance here
    report(Goldens.assertClose("sinusoid flip " + type, Goldens.npy(d, "sinusoid_flip_shift0"), out.get(flip.name()), FP32_TOL));
    report(Goldens.assertClose("sinusoid odd " + type, Goldens.npy(d, "sinusoid_noflip_shift1_odd"), out.get(odd.name()), FP32_TOL));
    report(Goldens.assertClose("timestep mlp " + type, Goldens.npy(d, "mlp_output"), out.get(mlp.name()), FP32_TOL));
  }

  @ParameterizedTest
  @EnumSource(names = {"FLOAT", "DOUBLE"})
  void siluIsXTimesSigmoid(DataType type) {
    SameDiff sd = SameDiff.create();
    INDArray x = org.nd4j.linalg.factory.Nd4j.createFromArray(-30.0, -2.5, -1e-3, 0.0, 0.7, 4.0, 25.0).castTo(type);
    INDArray y = ImageLayers.silu(sd, sd.constant(x)).eval();
    for (int i = 0; i < x.length(); i++) {
      double v = x.getDouble(i);
      assertThat(y.getDouble(i)).isCloseTo(v / (1 + Math.exp(-v)), org.assertj.core.data.Offset.offset(1e-6 * Math.max(1, Math.abs(v))));
    }
  }
}
