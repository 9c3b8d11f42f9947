package io.github.stablerep.models.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.github.stablerep.core.Goldens;
import java.nio.FloatBuffer;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The Java kernels against PyTorch in float64 (tools/reference/kernels_reference.py), on flat
 * buffers and inside a SameDiff graph through their stand-ins, and the completion mechanism
 * itself: without GraphKernels' listener a stand-in is not the answer, and a malformed input is
 * refused naming the kernel.
 */
class GraphKernelsTest {
  /** float32 kernels against float64 torch (scores up to about ±40 in the attention cases). */
  static final double TOL = 2e-5;

  static Path dir(String name) {
    return Goldens.dir("kernels/" + name);
  }

  static INDArray golden(String folder, String name) {
    return Goldens.npy(dir(folder), name).castTo(DataType.FLOAT);
  }

  static FloatBuffer buffer(INDArray a) {
    return FloatBuffer.wrap(a.dup('c').data().asFloat());
  }

  static INDArray array(FloatBuffer b, long... shape) {
    return Nd4j.create(b.array(), shape, 'c');
  }

  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {"attention_self", "attention_cross"})
  void attentionMatchesTorch(String folder) {
    INDArray packed = golden(folder, "packed");
    INDArray want = golden(folder, "out");
    int n = (int) want.size(0);
    int t = (int) want.size(1);
    float scale = (float) (1 / Math.sqrt(6));
    FloatBuffer out = FloatBuffer.allocate((int) want.length());
    if (folder.equals("attention_self")) {
      FusedAttention.computeSelf(buffer(packed), out, n, t, 4, 6, scale);
    } else {
      FusedAttention.computeCross(buffer(packed), out, n, t, (int) (packed.size(1) - t) / 2, 4, 6, scale);
    }
    Goldens.assertClose(folder + " kernel", want, array(out, want.shape()), TOL);
  }

  @ParameterizedTest(name = "silu {0}")
  @ValueSource(booleans = {false, true})
  void groupNormMatchesTorch(boolean silu) {
    INDArray x = golden("group_norm", "x");
    INDArray want = golden("group_norm", silu ? "out_silu" : "out");
    FloatBuffer out = FloatBuffer.allocate((int) x.length());
    FusedGroupNorm.compute(buffer(x), out, (int) x.size(0), (int) x.size(1), (int) (x.size(2) * x.size(3)), 4,
        golden("group_norm", "weight").toFloatVector(), golden("group_norm", "bias").toFloatVector(), 1e-5f, silu);
    Goldens.assertClose("group norm kernel, silu " + silu, want, array(out, x.shape()), TOL);
  }

  @Test
  void layerNormMatchesTorch() {
    INDArray x = golden("layer_norm", "x");
    FloatBuffer out = FloatBuffer.allocate((int) x.length());
    FusedLayerNorm.compute(buffer(x), out, (int) (x.length() / 20), 20, golden("layer_norm", "weight").toFloatVector(),
        golden("layer_norm", "bias").toFloatVector(), 1e-5f);
    Goldens.assertClose("layer norm kernel", golden("layer_norm", "out"), array(out, x.shape()), TOL);
  }

  @Test
  void gegluMatchesTorch() {
    INDArray value = golden("geglu", "value");
    FloatBuffer out = FloatBuffer.allocate((int) value.length());
    FusedGeglu.compute(buffer(value), buffer(golden("geglu", "gate")), out, (int) value.length());
    Goldens.assertClose("GEGLU kernel", golden("geglu", "out"), array(out, value.shape()), TOL);
  }

  /** Every kernel through its stand-in in one graph, with the listener the factories attach. */
  @Test
  void standInsAreCompletedInsideAGraph() {
    SameDiff sd = SameDiff.create();
    Graph g = new Graph(sd);
    assertThat(GraphKernels.installedOn(sd)).isTrue();
    assertThat(GraphKernels.kernelCount(sd)).isEqualTo(5);
    Map<String, INDArray> out = sd.output(g.feeds(), g.outputs());
    Goldens.assertClose("self-attention in a graph", golden("attention_self", "out"), out.get(g.self), TOL);
    Goldens.assertClose("cross-attention in a graph", golden("attention_cross", "out"), out.get(g.cross), TOL);
    Goldens.assertClose("group norm + SiLU in a graph", golden("group_norm", "out_silu"), out.get(g.groupNorm), TOL);
    Goldens.assertClose("layer norm in a graph", golden("layer_norm", "out"), out.get(g.layerNorm), TOL);
    Goldens.assertClose("GEGLU in a graph", golden("geglu", "out"), out.get(g.geglu), TOL);
  }

  /** The test above could fail: without the listener every stand-in keeps its placeholder value. */
  @Test
  void withoutTheListenerStandInsAreNotTheAnswer() {
    SameDiff sd = SameDiff.create();
    Graph g = new Graph(sd);
    sd.setListeners();
    assertThat(GraphKernels.installedOn(sd)).isFalse();
    Map<String, INDArray> out = sd.output(g.feeds(), g.outputs());
    for (String[] c : new String[][] {{g.self, "attention_self"}, {g.cross, "attention_cross"},
        {g.layerNorm, "layer_norm"}, {g.geglu, "geglu"}}) {
      INDArray want = golden(c[1], "out");
      double rel = out.get(c[0]).sub(want).norm2Number().doubleValue() / want.norm2Number().doubleValue();
      assertThat(rel).as(c[1] + " without its kernel").isGreaterThan(0.1);
    }
  }

  @Test
  void aMalformedStandInInputIsRefusedNamingTheKernel() {
    SameDiff sd = SameDiff.create();
    SDVariable out = FusedAttention.self(sd, "blk.attn1.attention_kernel",
        sd.placeHolder("qkv", DataType.FLOAT, -1, -1, -1), 4, 6, 0.4);
    INDArray qkv = Nd4j.rand(DataType.FLOAT, 2, 20, 48);   // q and k only: 48 columns where 72 are due
    assertThatThrownBy(() -> sd.output(Map.of("qkv", qkv), out.name()))
        .hasStackTraceContaining("kernel attention")
        .hasStackTraceContaining("expected an input [N, T, 72]");
  }

  @Test
  void aGraphWithKernelsRefusesToComputeGradients() {
    SameDiff sd = SameDiff.create();
    SDVariable scale = sd.var("scale", Nd4j.ones(DataType.FLOAT, 20));
    SDVariable x = sd.placeHolder("x", DataType.FLOAT, -1, -1, 20).mul(scale);
    SDVariable y = FusedLayerNorm.apply("ln", x, 20, sd.var("ln_w", golden("layer_norm", "weight")),
        sd.var("ln_b", golden("layer_norm", "bias")), 1e-5);
    y.sum().markAsLoss();
    assertThatThrownBy(() -> sd.calculateGradients(Map.of("x", golden("layer_norm", "x")), "scale"))
        .hasStackTraceContaining("a graph with Java kernels is for inference");
  }

  @Test
  void crossAttentionRefusesKeysOfAnotherLengthWhenDefined() {
    SameDiff sd = SameDiff.create();
    assertThatThrownBy(() -> FusedAttention.cross(sd, "attn2", sd.placeHolder("q", DataType.FLOAT, -1, -1, 24),
        sd.placeHolder("k", DataType.FLOAT, -1, 5, 24), sd.placeHolder("v", DataType.FLOAT, -1, 5, 24), 7, 4, 6, 0.4))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("k: expected 7 context tokens (contextLength), found shape [-1, 5, 24]");
  }

  @Test
  void theExponentialIsCloseToStrictMath() {
    double near = 0;
    double far = 0;
    for (int i = 0; i <= 320_000; i++) {
      float y = -i * 1e-4f;
      double want = StrictMath.exp(y);
      double rel = Math.abs(GraphKernels.expNonPositive(y) - want) / want;
      if (y >= -8) {
        near = Math.max(near, rel);
      } else {
        far = Math.max(far, rel);
      }
    }
    assertThat(near).as("relative error on [-8, 0]").isLessThan(4e-6);
    assertThat(far).as("relative error on [-32, -8)").isLessThan(1.2e-5);
    assertThat(GraphKernels.expNonPositive(-1000f)).isPositive().isLessThan(2e-14f);
    assertThat(GraphKernels.expNonPositive(0f)).isEqualTo(1f);
  }

  /** The five kernels' stand-ins in one graph, fed with the goldens' inputs. */
  static final class Graph {
    final SameDiff sd;
    final String self;
    final String cross;
    final String groupNorm;
    final String layerNorm;
    final String geglu;

    Graph(SameDiff sd) {
      this.sd = sd;
      double scale = 1 / Math.sqrt(6);
      self = FusedAttention.self(sd, "self", sd.placeHolder("qkv", DataType.FLOAT, -1, -1, 72), 4, 6, scale).name();
      SDVariable q = sd.placeHolder("q", DataType.FLOAT, -1, -1, 24);
      SDVariable k = sd.placeHolder("k", DataType.FLOAT, -1, 77, 24);
      SDVariable v = sd.placeHolder("v", DataType.FLOAT, -1, 77, 24);
      cross = FusedAttention.cross(sd, "cross", q, k, v, 77, 4, 6, scale).name();
      groupNorm = FusedGroupNorm.apply(sd, "gn", sd.placeHolder("gn_x", DataType.FLOAT, -1, 12, -1, -1), 4, 12,
          sd.var("gn_w", golden("group_norm", "weight")), sd.var("gn_b", golden("group_norm", "bias")), 1e-5, true)
          .name();
      layerNorm = FusedLayerNorm.apply("ln", sd.placeHolder("ln_x", DataType.FLOAT, -1, -1, 20), 20,
          sd.var("ln_w", golden("layer_norm", "weight")), sd.var("ln_b", golden("layer_norm", "bias")), 1e-5).name();
      geglu = FusedGeglu.apply("geglu", sd.placeHolder("value", DataType.FLOAT, -1, 64),
          sd.placeHolder("gate", DataType.FLOAT, -1, 64)).name();
    }

    Map<String, INDArray> feeds() {
      INDArray packed = golden("attention_cross", "packed");
      long t = golden("attention_cross", "out").size(1);
      return Map.of("qkv", golden("attention_self", "packed"),
          "q", packed.get(all(), org.nd4j.linalg.indexing.NDArrayIndex.interval(0, t), all()).dup('c'),
          "k", packed.get(all(), org.nd4j.linalg.indexing.NDArrayIndex.interval(t, t + 77), all()).dup('c'),
          "v", packed.get(all(), org.nd4j.linalg.indexing.NDArrayIndex.interval(t + 77, t + 154), all()).dup('c'),
          "gn_x", golden("group_norm", "x"), "ln_x", golden("layer_norm", "x"),
          "value", golden("geglu", "value"), "gate", golden("geglu", "gate"));
    }

    String[] outputs() {
      return new String[] {self, cross, groupNorm, layerNorm, geglu};
    }

    private static org.nd4j.linalg.indexing.INDArrayIndex all() {
      return org.nd4j.linalg.indexing.NDArrayIndex.all();
    }
  }
}
