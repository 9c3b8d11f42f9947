package io.github.stablerep.augment.data;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.CharRange;
import net.jqwik.api.constraints.Chars;
import net.jqwik.api.constraints.Size;
import net.jqwik.api.constraints.StringLength;

/** Lines appended with {@link CaptionManifest#line} read back as written, whatever the caption holds. */
class CaptionManifestLineProperties {

  @Property(tries = 200)
  void appendedLinesRoundTrip(
      @ForAll @Size(min = 1, max = 5) List<@StringLength(max = 20) @Chars({'\t', '\n', '\r', '\\', 'é', ' '})
          @CharRange(from = 'a', to = 'z') String> captions) throws Exception {
    Path dir = Files.createTempDirectory("manifest-line");
    try {
      StringBuilder text = new StringBuilder(CaptionManifest.HEADER_TEXT).append('\n');
      for (int i = 0; i < captions.size(); i++) {
        text.append(CaptionManifest.line("c" + i, captions.get(i), "c" + i + "/0.png"));
      }
      Path manifest = dir.resolve("manifest.tsv");
      Files.writeString(manifest, text, StandardCharsets.UTF_8);
      CaptionDataset ds = CaptionManifest.read(manifest);
      assertThat(ds.size()).isEqualTo(captions.size());
      for (int i = 0; i < captions.size(); i++) {
        CaptionGroup g = ds.captions().get(i);
        assertThat(g.id()).isEqualTo("c" + i);
        assertThat(g.caption()).isEqualTo(captions.get(i));
        assertThat(g.images()).containsExactly(dir.resolve("c" + i).resolve("0.png").toAbsolutePath().normalize());
      }
    } finally {
      try (var s = Files.walk(dir)) {
        s.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
      }
    }
  }
}
