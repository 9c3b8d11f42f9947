package io.github.stablerep.core.io;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AtomicFilesTest {

  @TempDir Path dir;

  private List<String> names() throws IOException {
    try (Stream<Path> s = Files.list(dir)) {
      return s.map(p -> p.getFileName().toString()).sorted().collect(Collectors.toList());
    }
  }

  @Test
  void eachFormWritesItsContentAndReplacesAnOldFile() throws IOException {
    Path f = dir.resolve("out.bin");
    Files.writeString(f, "an older, longer content that must not survive");
    AtomicFiles.writeBytes(f, new byte[] {1, 2, 3});
    assertThat(Files.readAllBytes(f)).containsExactly(1, 2, 3);
    AtomicFiles.writeString(f, "grün\n");
    assertThat(Files.readAllBytes(f)).containsExactly("grün\n".getBytes(StandardCharsets.UTF_8));
    byte[] big = new byte[200_000];  // more than the stream's buffer
    for (int i = 0; i < big.length; i++) {
      big[i] = (byte) (i * 31);
    }
    AtomicFiles.writeStream(f, out -> {
      out.write(big, 0, 100_000);
      out.write(big, 100_000, 100_000);
    });
    assertThat(Files.readAllBytes(f)).containsExactly(big);
    AtomicFiles.write(f, ch -> ch.write(java.nio.ByteBuffer.wrap(new byte[] {9})));
    assertThat(Files.readAllBytes(f)).containsExactly(9);
    assertThat(names()).containsExactly("out.bin");
  }

  @Test
  void aFailingWriterLeavesTheOldFileAndNoTemporary() throws IOException {
    Path f = dir.resolve("keep.txt");
    AtomicFiles.writeString(f, "old");
    assertThatThrownBy(() -> AtomicFiles.writeStream(f, out -> {
      out.write("half of the new".getBytes(StandardCharsets.UTF_8));
      throw new IOException("disk on fire");
    })).hasMessage("disk on fire");
    assertThatThrownBy(() -> AtomicFiles.write(f, ch -> {
      throw new UncheckedIOException(new IOException("boom"));
    })).isInstanceOf(UncheckedIOException.class);
    assertThat(Files.readString(f)).isEqualTo("old");
    assertThat(names()).containsExactly("keep.txt");
  }

  @Test
  void aMissingFolderOrNullInputIsRefused() {
    assertThatThrownBy(() -> AtomicFiles.writeString(dir.resolve("no/such/folder.txt"), "x"))
        .isInstanceOf(NoSuchFileException.class);
    assertThatThrownBy(() -> AtomicFiles.writeBytes(dir.resolve("a"), null))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("bytes: expected");
    assertThatThrownBy(() -> AtomicFiles.writeStream(dir.resolve("a"), null))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("content: expected");
    assertThatThrownBy(() -> AtomicFiles.write(null, ch -> {}))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("target: expected");
  }
}
