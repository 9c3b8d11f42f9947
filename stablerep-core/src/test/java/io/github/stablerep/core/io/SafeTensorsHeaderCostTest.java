package io.github.stablerep.core.io;

import static io.github.stablerep.core.io.TestArrays.safetensors;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What a hostile header costs to refuse (issue 13 §4): a 400 000-digit number took 47 s, the
 * parse being quadratic in a number's digits. Numbers are now bounded (StrictJson.MAX_NUMBER_CHARS)
 * and the parse is linear; these tests bound the time per header, with a wide margin for a
 * loaded machine.
 */
class SafeTensorsHeaderCostTest {

  @TempDir Path dir;

  private Path write(String header, int dataBytes) throws Exception {
    return Files.write(dir.resolve("hostile.safetensors"), safetensors(header, new byte[dataBytes]));
  }

  @Test
  void aNumberWithHundredsOfThousandsOfDigitsIsRefusedAtOnce() throws Exception {
    String digits = "1".repeat(400_000);
    Path f = write("{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0," + digits + "]}}", 8);
    assertTimeoutPreemptively(Duration.ofSeconds(2), () -> assertThatThrownBy(() -> SafeTensors.open(f))
        .isInstanceOf(SafeTensorsException.class)
        .hasMessageStartingWith(f.toString())
        .hasMessageContaining("at most " + StrictJson.MAX_NUMBER_CHARS + " characters, found one of 400000"));
  }

  @Test
  void longestAcceptedNumbersStillParseLinearly() throws Exception {
    // ~10 MB of 100-character numbers: the worst a header can do within the number bound
    String n = "9".repeat(StrictJson.MAX_NUMBER_CHARS);
    StringBuilder h = new StringBuilder("{\"a\":{\"dtype\":\"F32\",\"shape\":[");
    for (int i = 0; i < 100_000; i++) {
      h.append(i == 0 ? "" : ",").append(n);
    }
    h.append("],\"data_offsets\":[0,8]}}");
    Path f = write(h.toString(), 8);
    assertTimeoutPreemptively(Duration.ofSeconds(10), () -> assertThatThrownBy(() -> SafeTensors.open(f))
        .isInstanceOf(SafeTensorsException.class).hasMessageContaining("tensor \"a\""));
  }

  @Test
  void manyTensorsCostLinearTime() throws Exception {
    // 100 000 empty tensors: a 6 MB header, opened (not loaded) in well under the bound
    StringBuilder h = new StringBuilder("{");
    for (int i = 0; i < 100_000; i++) {
      h.append(i == 0 ? "" : ",").append("\"t").append(i).append("\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[0,0]}");
    }
    h.append("}");
    Path f = write(h.toString(), 0);
    assertTimeoutPreemptively(Duration.ofSeconds(10), () -> {
      long t0 = System.nanoTime();
      try (SafeTensorsFile file = SafeTensors.open(f)) {
        assertThat(file.tensors()).hasSize(100_000);
      }
      System.out.printf("100000 tensors opened in %.0f ms%n", (System.nanoTime() - t0) / 1e6);
    });
  }

  @Test
  void aFolderIsNamedNotReadAsAFile() throws Exception {
    Path folder = Files.createDirectories(dir.resolve("ckpt.safetensors"));
    assertThatThrownBy(() -> SafeTensors.read(folder)).isInstanceOf(SafeTensorsException.class)
        .hasMessage(folder + ": expected a safetensors file, found a folder");
    assertThatThrownBy(() -> Npy.read(folder)).isInstanceOf(NpyException.class)
        .hasMessage(folder + ": expected a .npy file, found a folder");
  }
}
