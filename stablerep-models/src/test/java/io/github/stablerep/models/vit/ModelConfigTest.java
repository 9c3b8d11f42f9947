package io.github.stablerep.models.vit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.nd4j.linalg.api.buffer.DataType;

/** toConfig / fromConfig of the ViT and the projection head: round trips and refusals. */
class ModelConfigTest {

  @Property(tries = 400)
  void vitRoundTrips(@ForAll("vits") VisionTransformer vit) {
    VisionTransformer back = VisionTransformer.fromConfig(vit.toConfig());
    assertThat(back).isEqualTo(vit).hasSameHashCodeAs(vit);
    assertThat(back.toString()).isEqualTo(vit.toString());
    assertThat(back.toConfig()).isEqualTo(vit.toConfig());
  }

  @Property(tries = 300)
  void headRoundTrips(@ForAll("heads") ProjectionHead head) {
    ProjectionHead back = ProjectionHead.fromConfig(head.toConfig());
    assertThat(back).isEqualTo(head).hasSameHashCodeAs(head);
    assertThat(back.toString()).isEqualTo(head.toString());
  }

  @Provide
  Arbitrary<VisionTransformer> vits() {
    Arbitrary<VisionTransformer.Builder> arch = Combinators.combine(
        Arbitraries.of(VitPreset.values()), Arbitraries.integers().between(1, 32),
        Arbitraries.integers().between(1, 12), Arbitraries.integers().between(1, 12),
        Arbitraries.integers().between(1, 16), Arbitraries.integers().between(1, 64),
        Arbitraries.integers().between(1, 24), Arbitraries.integers().between(1, 4096))
        .as((preset, patch, gh, gw, heads, headDim, depth, mlp) -> {
          int width = heads * headDim;
          return VisionTransformer.builder().preset(preset).patchSize(patch).imageSize(gh * patch, gw * patch)
              .heads(heads).width(width).depth(depth).mlpRatio(mlp / (double) width);
        });
    // the preset alone (every size implicit) as well as every size set
    Arbitrary<VisionTransformer.Builder> builders = Arbitraries.oneOf(arch,
        Arbitraries.of(VitPreset.values()).map(p -> VisionTransformer.builder().preset(p)));
    Arbitrary<Double> rate = Arbitraries.oneOf(Arbitraries.just(0.0), unitDoubles());
    Arbitrary<VisionTransformer.Builder> withRates = Combinators.combine(builders, Arbitraries.of(true, false),
            positiveDoubles(),
            Arbitraries.of(Pooling.values()), rate, rate, rate)
        .as((b, qkv, eps, pool, dp, drop, attn) -> b.qkvBias(qkv).layerNormEps(eps).pooling(pool).dropPathRate(dp)
            .dropout(drop).attentionDropout(attn));
    return Combinators.combine(withRates, Arbitraries.longs(), Arbitraries.strings().ofMinLength(1).ofMaxLength(12),
            Arbitraries.of(DataType.FLOAT, DataType.DOUBLE))
        .as((b, seed, name, type) -> b.seed(seed).name(name).dataType(type).build());
  }

  @Provide
  Arbitrary<ProjectionHead> heads() {
    return Combinators.combine(Arbitraries.integers().between(1, 1 << 20), Arbitraries.integers().between(1, 1 << 20),
            Arbitraries.integers().between(1, 1 << 20), Arbitraries.integers().between(1, 8),
            Arbitraries.of(true, false), positiveDoubles(),
            unitDoubles(), Arbitraries.longs())
        .as((in, hidden, out, layers, bn, eps, momentum, seed) -> ProjectionHead.builder().inputDim(in)
            .hiddenDim(hidden).outputDim(out).layers(layers).batchNorm(bn).bnEps(eps).bnMomentum(momentum).seed(seed))
        .flatMap(b -> Arbitraries.strings().ofMaxLength(10).map(p -> b.variablePrefix(p).build()));
  }

  /** Any positive finite double, every bit pattern equally likely (jqwik's decimals have a fixed scale). */
  private static Arbitrary<Double> positiveDoubles() {
    return Arbitraries.longs().between(1, 0x7fefffffffffffffL).map(Double::longBitsToDouble);
  }

  /** Doubles in [0, 1) with all 53 bits used. */
  private static Arbitrary<Double> unitDoubles() {
    return Arbitraries.longs().between(0, (1L << 53) - 1).map(k -> k * 0x1p-53);
  }

  @Test
  void presetSizesStayImplicitSoToBuilderSwitchesPresets() {
    VisionTransformer vit = VisionTransformer.builder().preset(VitPreset.S_16).imageSize(32).build();
    VisionTransformer back = VisionTransformer.fromConfig(vit.toConfig());
    assertThat(back.toBuilder().preset(VitPreset.B_16).build().width()).isEqualTo(768);
  }

  @Test
  void writesTimmNamesInFull() {
    String json = VisionTransformer.builder().build().toConfig();
    assertThat(json).startsWith("{\"_class_name\":\"VisionTransformer\",\"_config_version\":1,\"preset\":\"B_16\","
        + "\"img_size\":[224,224],\"patch_size\":16,\"embed_dim\":768,\"depth\":12,\"num_heads\":12,"
        + "\"mlp_ratio\":4.0,\"qkv_bias\":true,\"layer_norm_eps\":1.0E-6,\"global_pool\":\"token\"");
  }

  @Test
  void absentFieldsTakeDefaultsAndImgSizeMayBeOneNumber() {
    VisionTransformer v = VisionTransformer.fromConfig("{\"preset\": \"S_16\", \"img_size\": 96}");
    assertThat(v).isEqualTo(VisionTransformer.builder().preset(VitPreset.S_16).imageSize(96).build());
    assertThat(ProjectionHead.fromConfig("{}")).isEqualTo(ProjectionHead.builder().build());
  }

  @ParameterizedTest
  @CsvSource(delimiter = '|', value = {
      "{\"embed_dim\": 0}|field 'embed_dim': expected >= 1, found 0",
      "{\"num_heads\": 5}|field 'num_heads': expected >= 1 and dividing width 768, found 5",
      "{\"embed_dim\": \"768\"}|field 'embed_dim': expected an integer",
      "{\"embed_dim\": 3000000000}|field 'embed_dim': expected an integer in",
      "{\"depth\": 2.5}|field 'depth': expected an integer",
      "{\"mlp_ratio\": 1e400}|field 'mlp_ratio': expected a number in double range",
      "{\"drop_path_rate\": 1}|field 'drop_path_rate': expected a value in [0, 1)",
      "{\"img_size\": [224]}|field 'img_size': expected one size or [height, width]",
      "{\"img_size\": 100}|field 'img_size': expected a height that is a positive multiple of the patch size 16",
      "{\"global_pool\": \"max\"}|field 'global_pool': expected one of [token, avg], found \"max\"",
      "{\"dtype\": \"float16\"}|field 'dtype': expected one of [float32, float64]",
      "{\"preset\": \"H_14\"}|field 'preset': expected one of [TI_16, S_16, B_16, L_16]",
      "{\"qkv_bias\": 1}|field 'qkv_bias': expected true or false, found a number 1",
      "{\"name\": \"\"}|field 'name': expected a non-empty prefix",
      "{\"embed_dimm\": 768}|field 'embed_dimm': expected one of [",
      "{\"_class_name\": \"ProjectionHead\"}|field '_class_name': expected \"VisionTransformer\"",
      "{\"_config_version\": 2}|field '_config_version': expected 1",
      "{\"depth\": 12, \"depth\": 6}|malformed JSON (duplicate key",
      "[1]|expected a JSON object, found an array",
      "{\"depth\": |malformed JSON"})
  void vitRefusalsNameTheField(String json, String message) {
    assertThatThrownBy(() -> VisionTransformer.fromConfig(json)).isInstanceOf(IllegalArgumentException.class)
        .hasMessageStartingWith("VisionTransformer config: ").hasMessageContaining(message);
  }

  @ParameterizedTest
  @CsvSource(delimiter = '|', value = {
      "{\"hidden_dim\": -1}|field 'hidden_dim': expected >= 1, found -1",
      "{\"bn_momentum\": 1.5}|field 'bn_momentum': expected a value in [0, 1], found 1.5",
      "{\"bn_eps\": 0}|field 'bn_eps': expected a finite value > 0",
      "{\"seed\": 1e30}|field 'seed': expected a 64-bit integer",
      "{\"variable_prefix\": 3}|field 'variable_prefix': expected a string",
      "{\"layers\": 3, \"width\": 1}|field 'width': expected one of ["})
  void headRefusalsNameTheField(String json, String message) {
    assertThatThrownBy(() -> ProjectionHead.fromConfig(json)).isInstanceOf(IllegalArgumentException.class)
        .hasMessageStartingWith("ProjectionHead config: ").hasMessageContaining(message);
  }

  @Test
  void nullTextIsRefused() {
    assertThatThrownBy(() -> VisionTransformer.fromConfig(null)).hasMessageContaining("expected JSON text, found null");
  }
}
