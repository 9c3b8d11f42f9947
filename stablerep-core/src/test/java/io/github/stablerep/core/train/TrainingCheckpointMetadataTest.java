package io.github.stablerep.core.train;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.github.stablerep.core.io.SafeTensors;
import io.github.stablerep.core.io.SafeTensorsException;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.nd4j.linalg.factory.Nd4j;

/** Hostile counters in a checkpoint's metadata fail with the documented SafeTensorsException (issue 13 §6). */
class TrainingCheckpointMetadataTest {

  @TempDir Path dir;

  @ParameterizedTest
  @CsvSource({"step,-1", "epoch,-5", "rng_seed,-9223372036854775808", "step,1e3", "step,99999999999999999999"})
  void badCountersNameFileAndKey(String key, String value) throws Exception {
    Map<String, String> meta = new java.util.HashMap<>(Map.of("format", "stablerep4j-training-checkpoint/1",
        "step", "1", "epoch", "0", "rng_seed", "7"));
    meta.put(key, value);
    Path file = dir.resolve("ckpt.safetensors");
    SafeTensors.write(file, Map.of("model/w", Nd4j.ones(2)), meta);
    assertThatThrownBy(() -> TrainingCheckpoint.read(file))
        .isInstanceOf(SafeTensorsException.class)
        .hasMessageContaining(file.toString())
        .hasMessageContaining("metadata '" + key + "': expected an integer >= 0, found");
  }
}
