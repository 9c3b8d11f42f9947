package io.github.stablerep.core.train;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.github.stablerep.core.io.SafeTensors;
import io.github.stablerep.core.io.SafeTensorsException;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.nd4j.linalg.factory.Nd4j;

/** Model configs travel with a checkpoint, as diffusers' config.json with its weights. */
class TrainingCheckpointConfigTest {

  @TempDir Path dir;

  @Test
  void configsRoundTripApartFromUserMetadata() throws Exception {
    String vit = "{\"_class_name\":\"VisionTransformer\",\"embed_dim\":16}";
    Path file = dir.resolve("c.safetensors");
    TrainingCheckpoint.builder().model(Map.of("vit.cls_token", Nd4j.ones(1, 1, 16))).modelConfig("vit", vit)
        .modelConfig("head", "{}").metadata(Map.of("note", "x")).step(3).build().write(file);
    assertThat(SafeTensors.metadata(file)).containsEntry("config.vit", vit).containsEntry("user.note", "x");
    TrainingCheckpoint back = TrainingCheckpoint.read(file);
    assertThat(back.modelConfigs()).containsExactly(Map.entry("vit", vit), Map.entry("head", "{}"));
    assertThat(back.modelConfig("vit")).contains(vit);
    assertThat(back.modelConfig("unet")).isEmpty();
    assertThat(back.metadata()).containsExactly(Map.entry("note", "x"));
    assertThat(back.toBuilder().build().modelConfigs()).isEqualTo(back.modelConfigs());
  }

  @ParameterizedTest
  @ValueSource(strings = {"[1]", "{\"a\":", "3", "{\"a\":1,\"a\":2}"})
  void builderRefusesConfigsThatAreNotJsonObjects(String json) {
    assertThatThrownBy(() -> TrainingCheckpoint.builder().modelConfig("vit", json))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("modelConfig 'vit': expected a JSON object");
  }

  @Test
  void readRefusesAHostileConfigNamingFileAndKey() throws Exception {
    Map<String, String> meta = new HashMap<>(Map.of("format", TrainingCheckpoint.FORMAT, "step", "1", "epoch", "0",
        "rng_seed", "7", "config.vit", "[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]"));
    Path file = dir.resolve("hostile.safetensors");
    SafeTensors.write(file, Map.of("model/w", Nd4j.ones(2)), meta);
    assertThatThrownBy(() -> TrainingCheckpoint.read(file)).isInstanceOf(SafeTensorsException.class)
        .hasMessageContaining(file.toString()).hasMessageContaining("metadata 'config.vit'")
        .hasMessageContaining("nesting deeper than 16");
  }

  @Test
  void checkpointsWithoutConfigsReadWithNone() throws Exception {
    Path file = dir.resolve("old.safetensors");
    TrainingCheckpoint.builder().model(Map.of("w", Nd4j.ones(2))).build().write(file);
    assertThat(TrainingCheckpoint.read(file).modelConfigs()).isEmpty();
  }
}
