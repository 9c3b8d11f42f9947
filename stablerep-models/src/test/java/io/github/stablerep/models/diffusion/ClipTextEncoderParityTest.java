package io.github.stablerep.models.diffusion;

import io.github.stablerep.models.WeightReport;
import static org.assertj.core.api.Assertions.assertThat;

import io.github.stablerep.core.Goldens;
import io.github.stablerep.core.io.SafeTensors;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Parity with openai/CLIP's text transformer run in float64 on transformers-keyed weights
 * (tools/reference/clip_text_encoder_reference.py): "quick77" is SD v1.5's shape in small
 * (QuickGELU, 77 positions, end-token padding, legacy largest-id pooling, position_ids stored),
 * "gelu16" the other branches (exact GELU, 12 of 16 positions, eps 1e-3, MLP not 4x, pooling at
 * eos_token_id 7 which is not the largest id, zero padding, no position_ids). The weights and
 * config are read from the golden files, so the loader and fromConfig are exercised too.
 */
class ClipTextEncoderParityTest {

  static final double FP32_TOL = 1e-4;
  static final double FP64_TOL = 1e-10;

  @ParameterizedTest(name = "{0} {1} {2}")
  @CsvSource({
      "quick77, model.safetensors, FLOAT",
      "quick77, model.safetensors, DOUBLE",
      "quick77, model.fp16.safetensors, FLOAT",
      "gelu16, model.safetensors, FLOAT",
      "gelu16, model.safetensors, DOUBLE"})
  void matchesOpenAiClipTextTransformer(String config, String weightsFile, DataType type) throws Exception {
    Path dir = Goldens.dir("clip_text/" + config);
    ClipTextEncoder enc = ClipTextEncoder.fromConfig(dir.resolve("config.json")).toBuilder().dataType(type).build();
    INDArray ids = Goldens.npy(dir, "input_ids");
    SameDiff sd = SameDiff.create();
    SDVariable input = sd.placeHolder("input_ids", DataType.LONG, -1, ids.size(1));
    ClipTextEncoderGraph g = enc.define(sd, input);
    Map<String, INDArray> weights = SafeTensors.read(dir.resolve(weightsFile));
    WeightReport report = enc.importWeights(sd, weights);
    assertThat(report.unexpected()).isEmpty();
    assertThat(report.loaded()).hasSize(enc.parameters().size());

    Map<String, INDArray> out = sd.output(Map.of("input_ids", ids), g.lastHiddenState().name(), g.pooled().name());
    String suffix = weightsFile.contains("fp16") ? "_fp16" : "";
    double tol = type == DataType.DOUBLE ? FP64_TOL : FP32_TOL;
    double hidden = Goldens.assertClose(config + " last_hidden_state", Goldens.npy(dir, "last_hidden_state" + suffix),
        out.get(g.lastHiddenState().name()), tol);
    double pooled = Goldens.assertClose(config + " pooled", Goldens.npy(dir, "pooled" + suffix), out.get(g.pooled().name()), tol);
    System.out.printf("clip text parity %s %s %s: rel L2 last_hidden_state %.3g, pooled %.3g%n",
        config, weightsFile, type, hidden, pooled);
  }
}
