package io.github.stablerep.models.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.github.stablerep.core.Goldens;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * The shared layers against PyTorch's own modules (tools/reference/layers_reference.py:
 * nn.MultiheadAttention, nn.Linear with GELU, QuickGELU and diffusers' GEGLU), each variant on
 * its own, apart from the three models that use them (whose goldens cover them in context).
 */
class LayersTest {
  /** float64 on both sides: only summation order differs. */
  static final double DOUBLE_TOL = 1e-12;
  /** fp32 here against float64 there. */
  static final double FLOAT_TOL = 1e-5;

  /**
   * Creates each requested parameter from a torch state dict (Linear transposed), or
   * uninitialised when there is none, and records the keys asked for.
   */
  static final class TorchParams implements LayerParams {
    final SameDiff sd;
    final Map<String, INDArray> torch;
    final DataType type;
    final List<String> requested = new ArrayList<>();

    TorchParams(SameDiff sd, Map<String, INDArray> torch, DataType type) {
      this.sd = sd;
      this.torch = torch;
      this.type = type;
    }

    @Override
    public SameDiff sd() {
      return sd;
    }

    @Override
    public SDVariable linearWeight(String key, int out, int in) {
      if (torch == null) {
        requested.add(key);
        return sd.var(key, type, in, out);
      }
      INDArray w = take(key);
      assertThat(w.shape()).as(key).containsExactly(out, in);
      return sd.var(key, w.transpose().dup('c').castTo(type));
    }

    @Override
    public SDVariable bias(String key, int size, int fanIn) {
      if (torch == null) {
        requested.add(key);
        return sd.var(key, type, size);
      }
      INDArray b = take(key);
      assertThat(b.shape()).as(key).containsExactly(size);
      return sd.var(key, b.castTo(type));
    }

    private INDArray take(String key) {
      requested.add(key);
      INDArray a = torch.get(key);
      assertThat(a).as("torch key %s", key).isNotNull();
      return a;
    }
  }

  static Path dir(String name) {
    return Goldens.dir("layers/" + name);
  }

  static INDArray rows(INDArray a, int from, int to) {
    return a.get(NDArrayIndex.interval(from, to)).dup('c');
  }

  /** The packed in_proj of nn.MultiheadAttention under the names of {@code style}. */
  static Map<String, INDArray> selfCausalWeights(String style) {
    Path d = dir("self_causal");
    INDArray w = Goldens.npy(d, "in_proj_weight");
    INDArray b = Goldens.npy(d, "in_proj_bias");
    int dim = (int) w.size(1);
    Map<String, INDArray> m = new LinkedHashMap<>();
    String[] names = switch (style) {
      case "timm" -> new String[] {"qkv", "proj"};
      case "clip" -> new String[] {"q_proj", "k_proj", "v_proj", "out_proj"};
      default -> new String[] {"to_q", "to_k", "to_v", "to_out.0"};
    };
    if (style.equals("timm")) {
      m.put("attn.qkv.weight", w);
      m.put("attn.qkv.bias", b);
    } else {
      for (int i = 0; i < 3; i++) {
        m.put("attn." + names[i] + ".weight", rows(w, i * dim, (i + 1) * dim));
        m.put("attn." + names[i] + ".bias", rows(b, i * dim, (i + 1) * dim));
      }
    }
    m.put("attn." + names[names.length - 1] + ".weight", Goldens.npy(d, "out_proj.weight"));
    m.put("attn." + names[names.length - 1] + ".bias", Goldens.npy(d, "out_proj.bias"));
    return m;
  }

  @ParameterizedTest(name = "{0} {1}")
  @CsvSource({"timm, DOUBLE", "clip, DOUBLE", "diffusers, DOUBLE", "timm, FLOAT", "clip, FLOAT", "diffusers, FLOAT"})
  void causalSelfAttentionMatchesMultiheadAttention(String style, DataType type) {
    Path d = dir("self_causal");
    INDArray x = Goldens.npy(d, "x");                 // [N, T, D]
    int n = (int) x.size(0);
    int t = (int) x.size(1);
    int dim = (int) x.size(2);
    SameDiff sd = SameDiff.create();
    TorchParams p = new TorchParams(sd, selfCausalWeights(style), type);
    SDVariable mask = Attention.causalMask(sd, "causal", t, type);
    INDArray out;
    if (style.equals("diffusers")) {
      Attention a = Attention.diffusers(dim, 2).sequence().build();
      SDVariable in = sd.placeHolder("x", type, -1, -1, dim);
      SDVariable y = a.apply(p, "attn", in, null, mask, null, null);
      out = sd.output(Map.of("x", x.castTo(type)), y.name()).get(y.name());
    } else {
      Attention a = (style.equals("timm") ? Attention.timm(dim, 2) : Attention.clip(dim, 2)).tokens(t).build();
      SDVariable in = sd.placeHolder("x", type, -1, dim);
      SDVariable y = a.apply(p, "attn", in, null, mask, null, null);
      out = sd.output(Map.of("x", x.reshape(n * t, dim).castTo(type)), y.name()).get(y.name()).reshape(n, t, dim);
    }
    assertThat(p.requested).containsExactlyInAnyOrderElementsOf(p.torch.keySet());
    Goldens.assertClose(style + " " + type, Goldens.npy(d, "out"), out, type == DataType.DOUBLE ? DOUBLE_TOL : FLOAT_TOL);
  }

  @Test
  void crossAttentionToAContextOfAnotherWidthMatchesMultiheadAttention() {
    Path d = dir("cross");
    INDArray x = Goldens.npy(d, "x");
    INDArray ctx = Goldens.npy(d, "context");
    int dim = (int) x.size(2);
    int c = (int) ctx.size(2);
    INDArray b = Goldens.npy(d, "in_proj_bias");
    Map<String, INDArray> torch = new LinkedHashMap<>();
    String[] qkv = {"to_q", "to_k", "to_v"};
    for (int i = 0; i < 3; i++) {
      torch.put("blk.attn2." + qkv[i] + ".weight", Goldens.npy(d, "qkv".charAt(i) + "_proj_weight"));
      torch.put("blk.attn2." + qkv[i] + ".bias", rows(b, i * dim, (i + 1) * dim));
    }
    torch.put("blk.attn2.to_out.0.weight", Goldens.npy(d, "out_proj.weight"));
    torch.put("blk.attn2.to_out.0.bias", Goldens.npy(d, "out_proj.bias"));
    SameDiff sd = SameDiff.create();
    TorchParams p = new TorchParams(sd, torch, DataType.DOUBLE);
    Attention a = Attention.diffusers(dim, 2).contextDim(c).sequence().build();
    SDVariable y = a.apply(p, "blk.attn2", sd.placeHolder("x", DataType.DOUBLE, -1, -1, dim),
        sd.placeHolder("context", DataType.DOUBLE, -1, -1, c), null, null, null);
    INDArray out = sd.output(Map.of("x", x, "context", ctx), y.name()).get(y.name());
    assertThat(p.requested).containsExactlyElementsOf(torch.keySet());   // q, k, v, out: diffusers' order
    Goldens.assertClose("cross", Goldens.npy(d, "out"), out, DOUBLE_TOL);
  }

  @ParameterizedTest(name = "{0}")
  @CsvSource({"mlp_gelu", "mlp_quick_gelu", "mlp_geglu"})
  void mlpMatchesTorch(String name) {
    Path d = dir(name);
    INDArray x = Goldens.npy(d, "x");
    int dim = (int) x.size(1);
    int hidden = (int) Goldens.npy(d, "fc2.weight").size(1);
    Mlp mlp = switch (name) {
      case "mlp_gelu" -> Mlp.timm(dim, hidden, Mlp.Activation.GELU);
      case "mlp_quick_gelu" -> Mlp.timm(dim, hidden, Mlp.Activation.QUICK_GELU);
      default -> Mlp.geglu(dim, hidden);
    };
    String fc1 = name.equals("mlp_geglu") ? "ff.net.0.proj" : "mlp.fc1";
    String fc2 = name.equals("mlp_geglu") ? "ff.net.2" : "mlp.fc2";
    String prefix = fc1.substring(0, fc1.indexOf('.'));
    Map<String, INDArray> torch = new LinkedHashMap<>();
    torch.put(fc1 + ".weight", Goldens.npy(d, "fc1.weight"));
    torch.put(fc1 + ".bias", Goldens.npy(d, "fc1.bias"));
    torch.put(fc2 + ".weight", Goldens.npy(d, "fc2.weight"));
    torch.put(fc2 + ".bias", Goldens.npy(d, "fc2.bias"));
    SameDiff sd = SameDiff.create();
    TorchParams p = new TorchParams(sd, torch, DataType.DOUBLE);
    SDVariable y = mlp.apply(p, prefix, sd.placeHolder("x", DataType.DOUBLE, -1, dim));
    INDArray out = sd.output(Map.of("x", x), y.name()).get(y.name());
    assertThat(p.requested).containsExactlyElementsOf(torch.keySet());
    Goldens.assertClose(name, Goldens.npy(d, "out"), out, DOUBLE_TOL);
  }

  /** Recording only: which torch keys a layer asks for under a prefix. */
  static List<String> keysOf(Attention a, boolean context) {
    SameDiff sd = SameDiff.create();
    TorchParams p = new TorchParams(sd, null, DataType.FLOAT);
    SDVariable x = context ? sd.placeHolder("x", DataType.FLOAT, -1, -1, a.dim())
        : sd.placeHolder("x", DataType.FLOAT, -1, a.dim());
    SDVariable ctx = context ? sd.placeHolder("c", DataType.FLOAT, -1, -1, a.contextDim()) : null;
    a.apply(p, "blocks.0.attn", x, ctx, null, null, null);
    return p.requested;
  }

  @Test
  void withoutQkvBiasNoBiasIsRequestedButTheOutputProjectionKeepsItsOwn() {
    assertThat(keysOf(Attention.timm(8, 2).qkvBias(false).tokens(3).build(), false))
        .containsExactly("blocks.0.attn.qkv.weight", "blocks.0.attn.proj.weight", "blocks.0.attn.proj.bias");
    assertThat(keysOf(Attention.diffusers(8, 2).qkvBias(false).contextDim(4).sequence().build(), true))
        .containsExactly("blocks.0.attn.to_q.weight", "blocks.0.attn.to_k.weight", "blocks.0.attn.to_v.weight",
            "blocks.0.attn.to_out.0.weight", "blocks.0.attn.to_out.0.bias");
  }

  @Test
  void buildNamesTheFieldThatIsWrong() {
    assertThatThrownBy(() -> Attention.timm(10, 3).tokens(4).build())
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("heads").hasMessageContaining("10");
    assertThatThrownBy(() -> Attention.timm(8, 2).build())
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("tokens").hasMessageContaining("neither");
    assertThatThrownBy(() -> Attention.timm(8, 2).sequence().build())
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("fused qkv");
    assertThatThrownBy(() -> Attention.diffusers(8, 2).headDim(0).sequence().build())
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("headDim");
    assertThatThrownBy(() -> Mlp.timm(8, 16, Mlp.Activation.GEGLU))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("activation");
    Attention fused = Attention.timm(8, 2).tokens(3).build();
    assertThatThrownBy(() -> keysOf(fused, true))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("context");
  }

  @Test
  void preCreatedParametersAreCheckedByKeyAndShape() {
    SameDiff sd = SameDiff.create();
    Map<String, SDVariable> vars = new LinkedHashMap<>();
    vars.put("mlp.fc1.weight", sd.var("w1", DataType.FLOAT, 8, 16));
    vars.put("mlp.fc1.bias", sd.var("b1", DataType.FLOAT, 16));
    vars.put("mlp.fc2.weight", sd.var("w2", DataType.FLOAT, 8, 16));   // transposed by mistake
    LayerParams p = LayerParams.of(sd, vars);
    SDVariable x = sd.placeHolder("x", DataType.FLOAT, -1, 8);
    assertThatThrownBy(() -> Mlp.timm(8, 16, Mlp.Activation.GELU).apply(p, "mlp", x))
        .isInstanceOf(IllegalStateException.class).hasMessageContaining("'mlp.fc2.weight'")
        .hasMessageContaining("[16, 8]").hasMessageContaining("[8, 16]");
  }

  @Test
  void dropPathRejectsRatesWhereTheBranchShouldBeLeftAlone() {
    SameDiff sd = SameDiff.create();
    SDVariable branch = sd.placeHolder("b", DataType.FLOAT, -1, 4);
    SDVariable u = sd.placeHolder("u", DataType.FLOAT, -1);
    assertThatThrownBy(() -> DropPath.apply(sd, branch, u, 0.0, 2, 4, DataType.FLOAT, "dp"))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("rate");
  }
}
