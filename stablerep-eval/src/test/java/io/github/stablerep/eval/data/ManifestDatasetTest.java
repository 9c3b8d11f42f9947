package io.github.stablerep.eval.data;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.github.stablerep.augment.data.PathPolicy;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.factory.Nd4j;

/** CSV/TSV manifests: headers, quoting, relative paths and errors naming file and line. */
class ManifestDatasetTest {

  @TempDir Path tmp;

  @Test
  void csvWithHeaderQuotesAndRelativePaths() throws IOException {
    Path dir = tmp.resolve("set");
    ImageFolderDatasetTest.png(dir.resolve("img/a.png"), 2, 2, 1);
    ImageFolderDatasetTest.png(dir.resolve("img/b, c.png"), 2, 3, 2);
    ImageFolderDatasetTest.png(tmp.resolve("abs.png"), 1, 1, 3);
    Path csv = Files.writeString(dir.resolve("m.csv"),
        "path,label\nimg/a.png,4\n\n\"img/b, c.png\", 0\n" + tmp.resolve("abs.png") + ",7\n");
    // the absolute path needs the caller's opt-in (issue 13; DatasetPathsHostileTest has the default)
    ManifestDataset d = ManifestDataset.open(csv, ImageDecoder.standard(), PathPolicy.ANYWHERE);
    assertThat(d.labels()).containsExactly(4, 0, 7);
    assertThat(d.files()).containsExactly(dir.resolve("img/a.png").toAbsolutePath(),
        dir.resolve("img/b, c.png").toAbsolutePath(), tmp.resolve("abs.png").toAbsolutePath());
    try (ImageDataset.Reader r = d.reader()) {
      Batch b = r.next(2);
      assertThat(b.images().get(1).shape()).containsExactly(3, 2, 3);
      assertThat(r.next(2).labels()).containsExactly(7);
    }
  }

  @Test
  void tsvWithoutHeader() throws IOException {
    ImageFolderDatasetTest.png(tmp.resolve("x.png"), 1, 1, 1);
    Path tsv = Files.writeString(tmp.resolve("m.tsv"), "x.png\t1\nx.png\t2\n");
    ManifestDataset d = ManifestDataset.open(tsv, f -> Nd4j.zeros(3, 1, 1));
    assertThat(d.labels()).containsExactly(1, 2);
  }

  @Test
  void errorsNameFileAndLine() throws IOException {
    ImageFolderDatasetTest.png(tmp.resolve("x.png"), 1, 1, 1);
    List<String[]> cases = List.of(
        new String[] {"path,label\nx.png,1\nx.png,cat\n", ":3: expected an integer label, found 'cat'"},
        new String[] {"x.png,1\nx.png,1,2\n", ":2: expected 2 fields (path,label), found 3"},
        new String[] {"x.png,-1\n", ":1: expected a label in [0, 2^31), found -1"},
        new String[] {"x.png,1\nmissing.png,0\n", ":2: expected an image file at "},
        new String[] {"\"x.png,1\n", ":1: expected a closing quote"},
        new String[] {"path,label\n", ": expected at least one entry, found none"});
    int i = 0;
    for (String[] c : cases) {
      Path m = Files.writeString(tmp.resolve("m" + i++ + ".csv"), c[0]);
      assertThatThrownBy(() -> ManifestDataset.open(m))
          .isInstanceOf(DatasetFormatException.class)
          .hasMessageContaining(m + c[1]);
    }
  }
}
