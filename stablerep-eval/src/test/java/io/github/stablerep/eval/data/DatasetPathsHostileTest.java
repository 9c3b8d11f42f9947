package io.github.stablerep.eval.data;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.github.stablerep.augment.data.PathPolicy;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.factory.Nd4j;

/** ManifestDataset and ImageFolderDataset under hostile paths and links (issue 13 §5). */
class DatasetPathsHostileTest {

  @TempDir Path tmp;

  private static final ImageDecoder ONES = f -> Nd4j.ones(3, 1, 1);

  @Test
  void manifestPathsStayInsideItsFolder() throws Exception {
    Path dir = Files.createDirectories(tmp.resolve("d"));
    Files.write(dir.resolve("ok.png"), new byte[] {1});
    Path outside = Files.write(tmp.resolve("outside.png"), new byte[] {1});
    for (String bad : new String[] {"../outside.png", outside.toString(), "/proc/self/environ", "a\u0000.png"}) {
      Path m = Files.writeString(dir.resolve("m.csv"), "path,label\nok.png,0\n\"" + bad + "\",1\n");
      assertThatThrownBy(() -> ManifestDataset.open(m, ONES))
          .as(bad).isInstanceOf(DatasetFormatException.class)
          .hasMessageContaining(m + ":3:")
          .hasMessageNotContaining("\u0000");
    }
    Path m = Files.writeString(dir.resolve("m.csv"), "path,label\nok.png,0\n../outside.png,1\n");
    assertThat(ManifestDataset.open(m, ONES, PathPolicy.ANYWHERE).size()).isEqualTo(2);
    Files.createSymbolicLink(dir.resolve("link.png"), outside);
    Path linked = Files.writeString(dir.resolve("l.csv"), "link.png,0\n");
    assertThatThrownBy(() -> ManifestDataset.open(linked, ONES))
        .isInstanceOf(DatasetFormatException.class).hasMessageContaining(linked + ":1:")
        .hasMessageContaining("found a link to");
  }

  @Test
  void manifestThatIsNotUtf8NamesTheLine() throws Exception {
    Path m = Files.write(tmp.resolve("m.csv"), new byte[] {'a', ',', '0', '\n', (byte) 0xFF, ',', '1', '\n'});
    assertThatThrownBy(() -> ManifestDataset.open(m, ONES))
        .isInstanceOf(DatasetFormatException.class).hasMessageContaining(m + ":").hasMessageContaining("UTF-8");
  }

  @Test
  void imageFolderDoesNotWalkOutOfTheRoot() throws Exception {
    Path root = Files.createDirectories(tmp.resolve("root"));
    Path cls = Files.createDirectories(root.resolve("cls"));
    Files.write(cls.resolve("a.png"), new byte[] {1});
    Files.createSymbolicLink(cls.resolve("everything"), Path.of("/"));
    assertThatThrownBy(() -> ImageFolderDataset.open(root, ONES))
        .isInstanceOf(DatasetFormatException.class)
        .hasMessageContaining("everything").hasMessageContaining("found a link to /");
    Files.delete(cls.resolve("everything"));
    Files.createSymbolicLink(cls.resolve("loop"), cls);
    assertThatThrownBy(() -> ImageFolderDataset.open(root, ONES, PathPolicy.ANYWHERE))
        .isInstanceOf(DatasetFormatException.class).hasMessageContaining("link loop");
    Files.delete(cls.resolve("loop"));
    Path outside = Files.write(tmp.resolve("o.png"), new byte[] {1});
    Files.createSymbolicLink(cls.resolve("b.png"), outside);
    assertThatThrownBy(() -> ImageFolderDataset.open(root, ONES))
        .isInstanceOf(DatasetFormatException.class).hasMessageContaining("b.png");
    assertThat(ImageFolderDataset.open(root, ONES, PathPolicy.ANYWHERE).size()).isEqualTo(2);
    // links inside the root are followed
    Files.delete(cls.resolve("b.png"));
    Path other = Files.createDirectories(root.resolve("other"));
    Files.write(other.resolve("c.png"), new byte[] {1});
    Files.createSymbolicLink(cls.resolve("sub"), other);
    assertThat(ImageFolderDataset.open(root, ONES).size()).isEqualTo(3);
  }
}
