package io.github.stablerep.models.diffusion;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DiffusersConfigTest {
  private static final String UNET = "{\"_class_name\": \"UNet2DConditionModel\", \"attention_head_dim\": 8,"
      + " \"block_out_channels\": [320, 640], \"center_input_sample\": false, \"norm_eps\": 1e-05,"
      + " \"act_fn\": \"silu\", \"class_embed_type\": null, \"down_block_types\": [\"CrossAttnDownBlock2D\", \"DownBlock2D\"]}";

  @Test
  void readsTypedValuesAndDefaults() {
    DiffusersConfig c = DiffusersConfig.parse(UNET, "inline");
    assertThat(c.getIntList("block_out_channels", 2)).containsExactly(320, 640);
    assertThat(c.getIntList("attention_head_dim", 2)).containsExactly(8, 8);
    assertThat(c.getDouble("norm_eps")).isEqualTo(1e-5);
    assertThat(c.getBoolean("center_input_sample", true)).isFalse();
    assertThat(c.getString("act_fn")).isEqualTo("silu");
    assertThat(c.findString("class_embed_type")).isEmpty();
    assertThat(c.getInt("layers_per_block", 2)).isEqualTo(2);
    assertThat(c.getStringList("down_block_types")).containsExactly("CrossAttnDownBlock2D", "DownBlock2D");
    assertThat(c.keys()).startsWith("_class_name", "attention_head_dim");
  }

  @Test
  void wrongTypeNamesFileKeyExpectedAndFound() {
    DiffusersConfig c = DiffusersConfig.parse(UNET, "unet/config.json");
    assertThatThrownBy(() -> c.getInt("act_fn"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("unet/config.json").hasMessageContaining("'act_fn'")
        .hasMessageContaining("an integer").hasMessageContaining("STRING");
    assertThatThrownBy(() -> c.getIntList("block_out_channels", 3))
        .hasMessageContaining("expected 3 values").hasMessageContaining("found 2");
    assertThatThrownBy(() -> c.getDouble("sample_size"))
        .hasMessageContaining("'sample_size'").hasMessageContaining("missing");
  }

  @Test
  void malformedOrNonObjectJsonIsRejectedWithTheSource(@TempDir Path dir) throws Exception {
    Path bad = dir.resolve("config.json");
    Files.writeString(bad, "{\"a\": [1, 2");
    assertThatThrownBy(() -> DiffusersConfig.read(bad))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining(bad.toString())
        .hasMessageContaining("malformed JSON");
    assertThatThrownBy(() -> DiffusersConfig.parse("[1, 2]", "x.json"))
        .hasMessageContaining("x.json").hasMessageContaining("JSON object");
  }
}
