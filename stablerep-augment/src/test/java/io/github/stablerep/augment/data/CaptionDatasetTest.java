package io.github.stablerep.augment.data;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class CaptionDatasetTest {
  @TempDir Path dir;

  private Path write(String name, String text) throws Exception {
    Path p = dir.resolve(name);
    Files.createDirectories(p.getParent());
    Files.writeString(p, text, StandardCharsets.UTF_8);
    return p;
  }

  @Test
  void manifestRoundTripKeepsEscapedCaptionsAndOrder() throws Exception {
    CaptionDataset ds = CaptionDataset.of(List.of(
        new CaptionGroup("b", "tab\there, newline\nand back\\slash \u00e9",
            List.of(dir.resolve("imgs/b/1.png"), dir.resolve("imgs/b/0.png"))),
        new CaptionGroup("a", "plain", List.of(dir.resolve("a.jpg")))));
    Path manifest = dir.resolve("out/manifest.tsv");
    ds.writeManifest(manifest);
    assertThat(Files.readAllLines(manifest)).first().isEqualTo(CaptionManifest.HEADER_TEXT);
    assertThat(Files.readString(manifest)).contains("../imgs/b/1.png");
    // images outside the manifest's folder read back only when the caller opts in (issue 13)
    assertThatThrownBy(() -> CaptionDataset.fromManifest(manifest)).isInstanceOf(CaptionDatasetException.class);
    CaptionDataset back = CaptionDataset.fromManifest(manifest, PathPolicy.ANYWHERE);
    assertThat(back.captions()).isEqualTo(ds.captions());
    assertThat(back.imageCount()).isEqualTo(3);
    try (var s = Files.list(manifest.getParent())) {
      assertThat(s.toList()).containsExactly(manifest); // no temporary file left behind
    }
  }

  @Test
  void manifestGroupsNonAdjacentLinesAndIgnoresBlankAndCrlf() throws Exception {
    Path m = write("m.tsv", "caption_id\tcaption\tpath\r\n1\tone\tx/1.png\r\n\n2\ttwo\ty.png\n"
        + "1\tone\tx/2.png");
    CaptionDataset ds = CaptionDataset.fromManifest(m);
    assertThat(ds.captions()).extracting(CaptionGroup::id).containsExactly("1", "2");
    assertThat(ds.captions().get(0).images())
        .containsExactly(dir.resolve("x/1.png"), dir.resolve("x/2.png"));
  }

  @Test
  void manifestErrorsNameFileLineExpectedAndFound() throws Exception {
    Path bad = write("bad.tsv", "caption_id\tcaption\tpath\n1\tone\ta.png\n2\ttwo\n");
    assertThatThrownBy(() -> CaptionDataset.fromManifest(bad))
        .isInstanceOf(CaptionDatasetException.class)
        .hasMessageContaining(bad + ":3:").hasMessageContaining("expected 3 tab-separated")
        .hasMessageContaining("found 2");
    Path header = write("h.tsv", "id,caption,path\n");
    assertThatThrownBy(() -> CaptionDataset.fromManifest(header))
        .hasMessageContaining(header + ":1:").hasMessageContaining("found \"id,caption,path\"");
    Path esc = write("e.tsv", "caption_id\tcaption\tpath\n1\tbad \\x escape\ta.png\n");
    assertThatThrownBy(() -> CaptionDataset.fromManifest(esc))
        .hasMessageContaining(esc + ":2:").hasMessageContaining("caption")
        .hasMessageContaining("found \\x");
    Path clash = write("c.tsv", "caption_id\tcaption\tpath\n1\tone\ta.png\n1\tuno\tb.png\n");
    assertThatThrownBy(() -> CaptionDataset.fromManifest(clash))
        .hasMessageContaining(clash + ":3:").hasMessageContaining("as on line 2")
        .hasMessageContaining("found \"uno\"");
    Path abs = write("abs.tsv", "caption_id\tcaption\tpath\n1\tone\t/etc/a.png\n");
    assertThatThrownBy(() -> CaptionDataset.fromManifest(abs))
        .hasMessageContaining(abs + ":2:").hasMessageContaining("absolute");
    Path drive = write("drive.tsv", "caption_id\tcaption\tpath\n1\tone\tC:\\\\x.png\n");
    assertThatThrownBy(() -> CaptionDataset.fromManifest(drive))
        .hasMessageContaining(drive + ":2:").hasMessageContaining("absolute");
    Path colon = write("colon.tsv", "caption_id\tcaption\tpath\n1\tone\ta:b.png\n");
    assertThat(CaptionDataset.fromManifest(colon).captions().get(0).images())
        .containsExactly(dir.resolve("a:b.png"));
    Path empty = write("empty.tsv", "");
    assertThatThrownBy(() -> CaptionDataset.fromManifest(empty))
        .hasMessageContaining(empty + ":1:").hasMessageContaining("empty file");
    Path notUtf8 = dir.resolve("latin1.tsv");
    Files.write(notUtf8, new byte[] {'c', 'a', (byte) 0xE9, '\n'});
    assertThatThrownBy(() -> CaptionDataset.fromManifest(notUtf8))
        .isInstanceOf(CaptionDatasetException.class).hasMessageContaining("UTF-8");
  }

  @Test
  void captionFoldersUseFolderNamesCaptionTxtAndImageExtensions() throws Exception {
    write("root/b/caption.txt", "a red bus\n");
    write("root/b/2.PNG", "x");
    write("root/b/1.jpg", "x");
    write("root/b/notes.md", "x");
    write("root/a/0.png", "x");
    write("root/stray.png", "x");
    CaptionDataset ds = CaptionDataset.fromCaptionFolders(dir.resolve("root"));
    assertThat(ds.captions()).containsExactly(
        new CaptionGroup("a", "a", List.of(dir.resolve("root/a/0.png"))),
        new CaptionGroup("b", "a red bus",
            List.of(dir.resolve("root/b/1.jpg"), dir.resolve("root/b/2.PNG"))));
    assertThatThrownBy(() -> CaptionDataset.fromCaptionFolders(dir.resolve("missing")))
        .isInstanceOf(CaptionDatasetException.class).hasMessageContaining("found nothing");
  }

  @Test
  void stableRepCsvPairsEveryRowWithEverySeedFolder() throws Exception {
    Path csv = write("captions.csv", "path,caption\n"
        + "00/000.png,\"a cat, \"\"sitting\"\"\"\n"
        + "00/001.jpg,\"two\nlines\"\r\n"
        + "00/readme.txt,ignored\n"
        + "\n"
        + "00/002.jpeg,dog\n");
    Path s0 = dir.resolve("seed0");
    Path s1 = dir.resolve("seed1");
    CaptionDataset ds = CaptionDataset.fromStableRepCsv(csv, List.of(s0, s1));
    assertThat(ds.captions()).containsExactly(
        new CaptionGroup("0", "a cat, \"sitting\"",
            List.of(s0.resolve("00/000.png"), s1.resolve("00/000.png"))),
        new CaptionGroup("1", "two\nlines",
            List.of(s0.resolve("00/001.jpg"), s1.resolve("00/001.jpg"))),
        new CaptionGroup("2", "dog",
            List.of(s0.resolve("00/002.jpeg"), s1.resolve("00/002.jpeg"))));
    Path shortRow = write("short.csv", "a.png,one\n\nb.png\n");
    assertThatThrownBy(() -> CaptionDataset.fromStableRepCsv(shortRow, List.of(s0)))
        .hasMessageContaining(shortRow + ":3:").hasMessageContaining("found 1");
    Path open = write("open.csv", "a.png,\"never closed\n");
    assertThatThrownBy(() -> CaptionDataset.fromStableRepCsv(open, List.of(s0)))
        .hasMessageContaining(open + ":1:").hasMessageContaining("closing quote");
  }

  @Test
  void duplicateIdsAreRefused() {
    assertThatThrownBy(() -> CaptionDataset.of(List.of(
        new CaptionGroup("x", "a", List.of()), new CaptionGroup("x", "b", List.of()))))
        .hasMessageContaining("unique").hasMessageContaining("\"x\" twice");
  }
}
