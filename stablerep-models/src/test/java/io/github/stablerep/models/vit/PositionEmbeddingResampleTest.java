package io.github.stablerep.models.vit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.github.stablerep.core.io.Npy;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.indexing.NDArrayIndex;

/** Against tools/reference/posembed_reference.py: torch's F.interpolate bicubic, in float64. */
class PositionEmbeddingResampleTest {

  static INDArray golden(String file) throws Exception {
    return Npy.read(Path.of(PositionEmbeddingResampleTest.class.getResource("/golden/vit/posembed/" + file).toURI()));
  }

  @ParameterizedTest
  @CsvSource({"6, 6", "3, 5", "2, 2"})
  void matchesTorchBicubicResample(int h, int w) throws Exception {
    INDArray source = golden("pos_embed.npy");
    INDArray expected = golden("resampled_" + h + "x" + w + ".npy");
    INDArray actual = VisionTransformer.resamplePositionEmbedding(source, 4, 4, h, w);
    assertThat(actual.shape()).containsExactly(expected.shape());
    assertThat(actual.dataType()).isEqualTo(DataType.DOUBLE);
    double maxAbs = actual.sub(expected).amaxNumber().doubleValue();
    assertThat(maxAbs).as("max abs error against torch at %sx%s", h, w).isLessThanOrEqualTo(1e-6);
    // the class token's embedding is copied, not interpolated
    assertThat(actual.get(NDArrayIndex.point(0), NDArrayIndex.point(0), NDArrayIndex.all()))
        .isEqualTo(source.get(NDArrayIndex.point(0), NDArrayIndex.point(0), NDArrayIndex.all()));
  }

  @Test
  void sameGridIsTheIdentityAndTypeIsKept() throws Exception {
    INDArray source = golden("pos_embed.npy").castTo(DataType.FLOAT);
    INDArray same = VisionTransformer.resamplePositionEmbedding(source, 4, 4, 4, 4);
    assertThat(same.dataType()).isEqualTo(DataType.FLOAT);
    assertThat(same).isEqualTo(source);
  }

  @Test
  void rejectsAShapeThatDisagreesWithTheGrid() throws Exception {
    INDArray source = golden("pos_embed.npy");
    assertThatThrownBy(() -> VisionTransformer.resamplePositionEmbedding(source, 3, 5, 6, 6))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("posEmbed").hasMessageContaining("[1, 16, D]").hasMessageContaining("[1, 17, 5]");
    assertThatThrownBy(() -> VisionTransformer.resamplePositionEmbedding(source, 4, 4, 0, 6))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("newGrid");
  }

  static VisionTransformer tiny(int size, long seed) {
    return VisionTransformer.builder().imageSize(size).patchSize(4).width(8).depth(2).heads(2)
        .mlpRatio(2).seed(seed).build();
  }

  @Test
  void importResamplesWeightsFromAnotherResolution() {
    VisionTransformer small = tiny(16, 1);   // grid 4x4
    SameDiff sdSmall = VitWeightsTest.defined(small);
    Map<String, INDArray> exported = small.exportWeights(sdSmall, WeightLayout.TIMM);

    VisionTransformer large = tiny(24, 2);   // grid 6x6
    SameDiff sdLarge = SameDiff.create();
    VitGraph g = large.define(sdLarge, sdLarge.placeHolder("images", DataType.FLOAT, -1, 3, 24, 24));
    assertThat(large.importWeights(sdLarge, exported, WeightLayout.TIMM).ignored()).isEmpty();

    INDArray pos = sdLarge.getVariable("vit.pos_embed").getArr();
    assertThat(pos.shape()).containsExactly(1, 37, 8);
    assertThat(pos).isEqualTo(VisionTransformer.resamplePositionEmbedding(exported.get("pos_embed"), 4, 4, 6, 6));
    for (String n : g.variableNames()) {
      if (!n.equals("vit.pos_embed")) {
        assertThat(sdLarge.getVariable(n).getArr()).as(n).isEqualTo(sdSmall.getVariable(n).getArr());
      }
    }
    // the torchvision layout goes through the same path
    VisionTransformer tv = tiny(24, 3);
    SameDiff sdTv = VitWeightsTest.defined(tv);
    tv.importWeights(sdTv, small.exportWeights(sdSmall, WeightLayout.TORCHVISION), WeightLayout.TORCHVISION);
    assertThat(sdTv.getVariable("vit.pos_embed").getArr()).isEqualTo(pos);
  }

  @Test
  void aNonSquareSourceGridIsReportedAsMisShaped() {
    VisionTransformer source = VisionTransformer.builder().imageSize(8, 12).patchSize(4).width(8).depth(2)
        .heads(2).mlpRatio(2).build();  // grid 2x3: 7 tokens, not 1 + a square
    Map<String, INDArray> exported = source.exportWeights(VitWeightsTest.defined(source), WeightLayout.TIMM);
    VisionTransformer target = tiny(16, 1);
    SameDiff sd = VitWeightsTest.defined(target);
    assertThatThrownBy(() -> target.importWeights(sd, exported, WeightLayout.TIMM))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("mis-shaped 'pos_embed': expected shape [1, 17, 8]")
        .hasMessageContaining("found [1, 7, 8]");
  }
}
