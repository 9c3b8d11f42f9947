package io.github.stablerep.augment.data;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Manifest paths that lead out of the dataset (issue 13 §5): refused by default with the
 * reader's own exception naming file and line; admitted when the caller opts in.
 */
class PathPolicyTest {

  @TempDir Path tmp;

  static final String[] ESCAPES = {"../../etc/passwd", "/etc/passwd", "/proc/self/environ", "a/../../x.png",
      "C:\\\\Windows\\\\x.png", "a\u0000b.png", "a\u0001b.png"};

  @ParameterizedTest
  @ValueSource(strings = {"../../etc/passwd", "/etc/passwd", "/proc/self/environ", "a/../../x.png",
      "C:\\\\Windows\\\\x.png", "a\\u0000b.png"})
  void captionManifestRefusesPathsOutOfItsFolder(String path) throws Exception {
    String rel = path.replace("\\u0000", "\u0000");
    Path m = Files.writeString(tmp.resolve("m.tsv"), CaptionManifest.HEADER_TEXT + "\n0\tcat\tok.png\n1\tdog\t" + rel + "\n");
    assertThatThrownBy(() -> CaptionManifest.read(m))
        .isInstanceOf(CaptionDatasetException.class)
        .hasMessageContaining(m + ":3:")
        .hasMessageNotContaining("\u0000");
  }

  @Test
  void optingInAdmitsThem() throws Exception {
    Path m = Files.writeString(tmp.resolve("m.tsv"), CaptionManifest.HEADER_TEXT + "\n0\tcat\t../up.png\n1\tdog\t/abs.png\n");
    CaptionDataset d = CaptionManifest.read(m, PathPolicy.ANYWHERE);
    assertThat(d.captions().get(0).images().get(0)).isEqualTo(tmp.getParent().resolve("up.png"));
    assertThat(d.captions().get(1).images().get(0)).isEqualTo(Path.of("/abs.png"));
    // a NUL is refused under both policies: no file system takes one
    Path nul = Files.writeString(tmp.resolve("n.tsv"), CaptionManifest.HEADER_TEXT + "\n0\tcat\ta\u0000.png\n");
    assertThatThrownBy(() -> CaptionManifest.read(nul, PathPolicy.ANYWHERE))
        .isInstanceOf(CaptionDatasetException.class).hasMessageContaining(nul + ":2:").hasMessageContaining("U+0000");
  }

  @Test
  void stableRepCsvPathsStayInEverySeedFolder() throws Exception {
    Path csv = Files.writeString(tmp.resolve("c.csv"), "path,caption\na.png,cat\n../../etc/x.png,evil\n");
    assertThatThrownBy(() -> CaptionDataset.fromStableRepCsv(csv, List.of(tmp.resolve("s0"), tmp.resolve("s1"))))
        .isInstanceOf(CaptionDatasetException.class)
        .hasMessageContaining(csv + ":3:")
        .hasMessageContaining("inside the dataset root");
    assertThat(CaptionDataset.fromStableRepCsv(csv, List.of(tmp.resolve("s0")), PathPolicy.ANYWHERE).size()).isEqualTo(2);
  }

  @Test
  void nonUtf8NamesFileAndLine() throws Exception {
    byte[] text = (CaptionManifest.HEADER_TEXT + "\n0\tcat\ta.png\n1\tdo").getBytes(StandardCharsets.UTF_8);
    byte[] bad = new byte[text.length + 8];
    System.arraycopy(text, 0, bad, 0, text.length);
    bad[text.length] = (byte) 0xFF;
    Path m = Files.write(tmp.resolve("m.tsv"), bad);
    assertThatThrownBy(() -> CaptionManifest.read(m))
        .isInstanceOf(CaptionDatasetException.class).hasMessageContaining(m + ":").hasMessageContaining("UTF-8");
    Path csv = Files.write(tmp.resolve("c.csv"), new byte[] {'a', '.', 'p', 'n', 'g', ',', (byte) 0xC3, (byte) 0x28});
    assertThatThrownBy(() -> CaptionDataset.fromStableRepCsv(csv, List.of(tmp)))
        .isInstanceOf(CaptionDatasetException.class).hasMessageContaining(csv + ":1:").hasMessageContaining("UTF-8");
  }

  @Test
  void captionFoldersDoNotFollowLinksOut() throws Exception {
    Path outside = Files.writeString(tmp.resolve("secret.txt"), "root:x:0:0");
    Path root = Files.createDirectories(tmp.resolve("root"));
    Path cat = Files.createDirectories(root.resolve("cat"));
    Files.write(cat.resolve("a.png"), new byte[] {1});
    Files.createSymbolicLink(cat.resolve("caption.txt"), outside);
    assertThatThrownBy(() -> CaptionDataset.fromCaptionFolders(root))
        .isInstanceOf(CaptionDatasetException.class)
        .hasMessageContaining("caption.txt")
        .hasMessageContaining("found a link to " + outside.toRealPath());
    assertThat(CaptionDataset.fromCaptionFolders(root, PathPolicy.ANYWHERE).captions().get(0).caption())
        .isEqualTo("root:x:0:0");
    // a link that stays inside is fine
    Files.delete(cat.resolve("caption.txt"));
    Files.createSymbolicLink(cat.resolve("caption.txt"), Files.writeString(root.resolve("shared.txt"), "a cat"));
    assertThat(CaptionDataset.fromCaptionFolders(root).captions().get(0).caption()).isEqualTo("a cat");
  }
}
