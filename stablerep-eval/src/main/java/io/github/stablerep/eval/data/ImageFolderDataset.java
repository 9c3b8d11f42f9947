package io.github.stablerep.eval.data;

import io.github.stablerep.augment.data.PathPolicy;
import java.io.IOException;
import java.nio.file.FileSystemLoopException;
import java.nio.file.FileVisitOption;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.EnumSet;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * torchvision's {@code ImageFolder}: {@code root/<class>/**}{@code /<image>}, one folder per
 * class.
 *
 * <p>Same indexing as torchvision 0.14 ({@code find_classes}, {@code make_dataset}): the class
 * names are the sub-folders of {@code root} sorted by code point (Python's string order), class
 * {@code i} is the {@code i}-th name; within a class, the folder tree is walked following
 * links, its folders sorted by path string and each folder's file names sorted, keeping files
 * whose lower-cased name ends with one of {@link #IMG_EXTENSIONS}. A class folder without any
 * such file is an error, as in torchvision. Decoding is delegated to an {@link ImageDecoder}
 * (default {@link ImageDecoder#standard()}).
 *
 * <p><b>Links.</b> Under the default {@link PathPolicy#INSIDE_ROOT}, links are followed only
 * while they stay inside {@code root}: a link leading out of it (to {@code /}, say) is refused
 * with {@link DatasetFormatException} naming it, and so is a link loop. {@link
 * PathPolicy#ANYWHERE} follows every link, as torchvision does.
 */
public final class ImageFolderDataset extends FileListDataset {

  /** torchvision's {@code IMG_EXTENSIONS}. */
  public static final List<String> IMG_EXTENSIONS =
      List.of(".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".pgm", ".tif", ".tiff", ".webp");

  /** Python's {@code str} ordering: by Unicode code point (Java's compareTo uses UTF-16 units). */
  static final Comparator<String> CODE_POINT_ORDER =
      (a, b) -> {
        int i = 0;
        int j = 0;
        while (i < a.length() && j < b.length()) {
          int ca = a.codePointAt(i);
          int cb = b.codePointAt(j);
          if (ca != cb) {
            return Integer.compare(ca, cb);
          }
          i += Character.charCount(ca);
          j += Character.charCount(cb);
        }
        return Boolean.compare(i < a.length(), j < b.length());
      };

  private final List<String> classes;

  private ImageFolderDataset(List<Path> files, int[] labels, ImageDecoder decoder,
      List<String> classes) {
    super(files, labels, decoder);
    this.classes = List.copyOf(classes);
  }

  /** Indexes {@code root} with the javax.imageio decoder. */
  public static ImageFolderDataset open(Path root) throws IOException {
    return open(root, ImageDecoder.standard());
  }

  /** Indexes {@code root}; files are decoded with {@code decoder} while reading. */
  public static ImageFolderDataset open(Path root, ImageDecoder decoder) throws IOException {
    return open(root, decoder, PathPolicy.INSIDE_ROOT);
  }

  /** Indexes {@code root} following links as {@code policy} allows (see the class comment). */
  public static ImageFolderDataset open(Path root, ImageDecoder decoder, PathPolicy policy) throws IOException {
    Objects.requireNonNull(root, "root");
    Objects.requireNonNull(decoder, "decoder");
    Objects.requireNonNull(policy, "policy");
    if (!Files.isDirectory(root)) {
      throw new DatasetFormatException(root + ": expected a folder of class folders, found "
          + (Files.exists(root) ? "a file" : "nothing"));
    }
    List<String> classes;
    try (Stream<Path> s = Files.list(root)) {
      classes = s.filter(Files::isDirectory).map(p -> p.getFileName().toString())
          .sorted(CODE_POINT_ORDER).collect(Collectors.toList());
    }
    if (classes.isEmpty()) {
      throw new DatasetFormatException(root + ": expected at least one class folder, found none");
    }
    Path realRoot = root.toRealPath();
    List<Path> files = new ArrayList<>();
    List<Integer> labels = new ArrayList<>();
    List<String> empty = new ArrayList<>();
    for (int c = 0; c < classes.size(); c++) {
      Path dir = root.resolve(classes.get(c));
      List<Path> folders = folders(dir, realRoot, policy);
      int before = files.size();
      for (Path folder : folders) {
        List<Path> names;
        try (Stream<Path> s = Files.list(folder)) {
          names = s.filter(p -> !Files.isDirectory(p) && hasImageExtension(p))
              .sorted(Comparator.comparing(p -> p.getFileName().toString(), CODE_POINT_ORDER))
              .collect(Collectors.toList());
        }
        for (Path p : names) {
          if (Files.isSymbolicLink(p)) { // plain files of a checked folder are inside it
            checkLinks(policy, realRoot, p);
          }
          files.add(p);
          labels.add(c);
        }
      }
      if (files.size() == before) {
        empty.add(classes.get(c));
      }
    }
    if (!empty.isEmpty()) {
      throw new DatasetFormatException(
          root + ": expected every class folder to hold an image with an extension in "
              + IMG_EXTENSIONS + ", found none in " + empty);
    }
    return new ImageFolderDataset(files, labels.stream().mapToInt(Integer::intValue).toArray(),
        decoder, classes);
  }

  /**
   * The folders under {@code dir}, itself included, following links as {@code policy} allows;
   * sorted by path string.
   */
  private static List<Path> folders(Path dir, Path realRoot, PathPolicy policy) throws IOException {
    List<Path> out = new ArrayList<>();
    Files.walkFileTree(dir, EnumSet.of(FileVisitOption.FOLLOW_LINKS), Integer.MAX_VALUE,
        new SimpleFileVisitor<>() {
          @Override
          public FileVisitResult preVisitDirectory(Path d, BasicFileAttributes a)
              throws IOException {
            if (Files.isSymbolicLink(d) || d.equals(dir)) { // a folder reached without a link is inside its parent
              checkLinks(policy, realRoot, d);
            }
            out.add(d);
            return FileVisitResult.CONTINUE;
          }

          @Override
          public FileVisitResult visitFileFailed(Path f, IOException e) throws IOException {
            if (e instanceof FileSystemLoopException) {
              throw new DatasetFormatException(f + ": expected a folder tree, found a link loop back to an"
                  + " enclosing folder", e);
            }
            throw e;
          }
        });
    out.sort(Comparator.comparing(Path::toString, CODE_POINT_ORDER));
    return out;
  }

  private static void checkLinks(PathPolicy policy, Path realRoot, Path p) throws IOException {
    try {
      policy.checkLinks(realRoot, p);
    } catch (IllegalArgumentException e) {
      throw new DatasetFormatException(p + ": " + e.getMessage(), e);
    }
  }

  static boolean hasImageExtension(Path p) {
    String name = p.getFileName().toString().toLowerCase(Locale.ROOT);
    for (String ext : IMG_EXTENSIONS) {
      if (name.endsWith(ext)) {
        return true;
      }
    }
    return false;
  }

  /** The class names; label {@code i} is {@code classes().get(i)}. */
  public List<String> classes() {
    return classes;
  }
}
