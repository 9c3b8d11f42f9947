package io.github.stablerep.augment.data;

import static com.google.common.base.Preconditions.checkArgument;

import java.io.IOException;
import java.io.Reader;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.stream.Stream;

/**
 * An immutable, caption-grouped image set: caption ids, captions and image paths, never pixels,
 * so that a dataset of millions of generated images costs only its path strings in memory.
 *
 * <p>Three layouts are read:
 *
 * <ul>
 *   <li>{@link #fromManifest}: the {@link CaptionManifest} TSV format (one line per image).
 *   <li>{@link #fromCaptionFolders}: one folder per caption under a root. The folder name is the
 *       caption id; an optional {@code caption.txt} (UTF-8, trailing line breaks dropped) holds
 *       the caption, else the caption is the id. Images are the folder's regular files with
 *       extensions png, jpg, jpeg, bmp, gif, tif, tiff (any case), sorted by name. Folders are sorted by
 *       name; files at the root and nested folders are ignored.
 *   <li>{@link #fromStableRepCsv}: the official StableRep layout ({@code StableRep/dataset/data.py},
 *       {@code SupconDataset}). A CSV (Python's default {@code csv} dialect: comma-separated,
 *       {@code "}-quoted, {@code ""} inside quotes) lists one row per caption: the image's path
 *       relative to each seed folder, then the caption. Rows whose path does not end in
 *       {@code .png}, {@code .jpg} or {@code .jpeg} are skipped as the reference skips them (that
 *       also drops a header row). Several seed folders (one per generation seed) each hold the
 *       same relative paths, so caption {@code i}'s images are {@code seed_k/path_i} for every
 *       seed folder {@code k}, in the given folder order. The caption id is the row's index
 *       among kept rows, which is the label the reference returns. File existence is not checked
 *       here (that would be millions of stats); a missing file is skipped and counted by the
 *       sampler like a corrupt one.
 * </ul>
 *
 * <p><b>Untrusted layouts.</b> Every reader takes a {@link PathPolicy}, by default {@link
 * PathPolicy#INSIDE_ROOT}: listed paths must stay inside their root (the manifest's folder, each
 * seed folder), and in caption folders a {@code caption.txt}, image or folder that is a link
 * leading out of the root is refused, so a planted link cannot make {@code /etc/passwd} a
 * caption. Errors are {@link CaptionDatasetException}s naming the file (and line).
 *
 * <p>Caption ids must be unique. Captions with fewer images than a sampler needs are kept here;
 * the sampler decides (see {@link MultiViewSampler}).
 */
public final class CaptionDataset {
  private static final Set<String> EXTENSIONS =
      Set.of("png", "jpg", "jpeg", "bmp", "gif", "tif", "tiff");

  private final List<CaptionGroup> captions;
  private final long imageCount;

  private CaptionDataset(List<CaptionGroup> captions) {
    this.captions = List.copyOf(captions);
    long count = 0;
    Set<String> ids = new HashSet<>();
    for (CaptionGroup g : this.captions) {
      if (!ids.add(g.id())) {
        throw new IllegalArgumentException(
            "captions: expected unique caption ids, found \"" + g.id() + "\" twice");
      }
      count += g.size();
    }
    this.imageCount = count;
  }

  /** A dataset of the given groups, in order. */
  public static CaptionDataset of(List<CaptionGroup> captions) {
    return new CaptionDataset(captions);
  }

  /** Reads a {@link CaptionManifest}; paths must stay inside its folder. */
  public static CaptionDataset fromManifest(Path manifest) throws IOException {
    return CaptionManifest.read(manifest);
  }

  /** Reads a {@link CaptionManifest} under {@code policy}. */
  public static CaptionDataset fromManifest(Path manifest, PathPolicy policy) throws IOException {
    return CaptionManifest.read(manifest, policy);
  }

  /** Writes this dataset as a {@link CaptionManifest}, atomically. */
  public void writeManifest(Path manifest) throws IOException {
    CaptionManifest.write(manifest, this);
  }

  /**
   * Reads the one-folder-per-caption layout described in the class comment; links out of
   * {@code root} are refused.
   */
  public static CaptionDataset fromCaptionFolders(Path root) throws IOException {
    return fromCaptionFolders(root, PathPolicy.INSIDE_ROOT);
  }

  /** Reads the one-folder-per-caption layout under {@code policy}. */
  public static CaptionDataset fromCaptionFolders(Path root, PathPolicy policy) throws IOException {
    requirePolicy(policy);
    Path dir = root.toAbsolutePath();
    if (!Files.isDirectory(dir)) {
      throw new CaptionDatasetException(dir + ": expected a folder of caption folders, found "
          + (Files.exists(dir) ? "a file" : "nothing"));
    }
    Path realRoot = dir.toRealPath();
    List<Path> folders;
    try (Stream<Path> s = Files.list(dir)) {
      folders = s.filter(Files::isDirectory).sorted().toList();
    }
    List<CaptionGroup> groups = new ArrayList<>(folders.size());
    for (Path folder : folders) {
      checkLinks(policy, realRoot, folder);
      String id = folder.getFileName().toString();
      Path captionFile = folder.resolve("caption.txt");
      String caption = id;
      if (Files.isRegularFile(captionFile)) {
        checkLinks(policy, realRoot, captionFile);
        try {
          caption = Files.readString(captionFile, StandardCharsets.UTF_8).stripTrailing();
        } catch (CharacterCodingException e) {
          throw new CaptionDatasetException(
              captionFile + ": expected UTF-8 text, found malformed bytes", e);
        }
      }
      List<Path> images;
      try (Stream<Path> s = Files.list(folder)) {
        images = s.filter(Files::isRegularFile).filter(CaptionDataset::isImage).sorted().toList();
      }
      for (Path image : images) {
        checkLinks(policy, realRoot, image);
      }
      groups.add(new CaptionGroup(id, caption, images));
    }
    return new CaptionDataset(groups);
  }

  /**
   * Reads the StableRep layout described in the class comment.
   *
   * @param csv the caption CSV ({@code path,caption} rows)
   * @param seedFolders the folders generated with different seeds, each holding every path
   */
  public static CaptionDataset fromStableRepCsv(Path csv, List<Path> seedFolders)
      throws IOException {
    return fromStableRepCsv(csv, seedFolders, PathPolicy.INSIDE_ROOT);
  }

  /**
   * As {@link #fromStableRepCsv(Path, List)}, resolving each row's path against each seed
   * folder under {@code policy} (lexically: files are not looked at here, see the class comment).
   */
  public static CaptionDataset fromStableRepCsv(Path csv, List<Path> seedFolders, PathPolicy policy)
      throws IOException {
    requirePolicy(policy);
    if (seedFolders.isEmpty()) {
      throw new IllegalArgumentException("seedFolders: expected at least 1 folder, found 0");
    }
    Path file = csv.toAbsolutePath();
    List<Path> roots = seedFolders.stream().map(p -> p.toAbsolutePath().normalize()).toList();
    List<CaptionGroup> groups = new ArrayList<>();
    CsvRows rows = null;
    try (Reader reader = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
      rows = new CsvRows(reader, file.toString());
      List<String> row;
      while ((row = rows.next()) != null) {
        if (row.size() < 2) {
          // The reference indexes row[0] and row[1], so a shorter row is an error there too.
          throw new CaptionDatasetException(file + ":" + rows.recordLine()
              + ": expected at least 2 fields (path, caption), found " + row.size());
        }
        String rel = row.get(0);
        if (!(rel.endsWith(".png") || rel.endsWith(".jpg") || rel.endsWith(".jpeg"))) {
          continue;
        }
        List<Path> images = new ArrayList<>(roots.size());
        for (Path root : roots) {
          try {
            images.add(policy.resolve(root, rel));
          } catch (IllegalArgumentException e) {
            throw new CaptionDatasetException(file + ":" + rows.recordLine() + ": path: " + e.getMessage(), e);
          }
        }
        groups.add(new CaptionGroup(Integer.toString(groups.size()), row.get(1), images));
      }
    } catch (CharacterCodingException e) {
      throw new CaptionDatasetException(file + ":" + (rows == null ? 1 : rows.line)
          + ": expected UTF-8 text, found malformed bytes", e);
    }
    return new CaptionDataset(groups);
  }

  private static void requirePolicy(PathPolicy policy) {
    checkArgument(policy != null, "policy: expected a PathPolicy, found null");
  }

  private static void checkLinks(PathPolicy policy, Path realRoot, Path file) throws IOException {
    try {
      policy.checkLinks(realRoot, file);
    } catch (IllegalArgumentException e) {
      throw new CaptionDatasetException(file + ": " + e.getMessage(), e);
    }
  }

  static boolean isImage(Path p) {
    String name = p.getFileName().toString();
    int dot = name.lastIndexOf('.');
    return dot > 0 && EXTENSIONS.contains(name.substring(dot + 1).toLowerCase(Locale.ROOT));
  }

  /** The caption groups, in layout order. */
  public List<CaptionGroup> captions() {
    return captions;
  }

  /** The number of captions. */
  public int size() {
    return captions.size();
  }

  /** The number of images over all captions. */
  public long imageCount() {
    return imageCount;
  }

  @Override
  public String toString() {
    return "CaptionDataset[captions=" + captions.size() + ", images=" + imageCount + "]";
  }

  /** Python's default csv dialect, enough for the reference's files; tracks line numbers. */
  private static final class CsvRows {
    private final Reader in;
    private final String name;
    private int line = 1;
    private int recordLine;
    private int peeked = -2;

    CsvRows(Reader in, String name) {
      this.in = in;
      this.name = name;
    }

    int recordLine() {
      return recordLine;
    }

    private int read() throws IOException {
      if (peeked != -2) {
        int c = peeked;
        peeked = -2;
        return c;
      }
      return in.read();
    }

    List<String> next() throws IOException {
      int c = read();
      while (c == '\n' || c == '\r') { // Python's reader yields [] for a blank line; skip it
        if (c == '\n') {
          line++;
        }
        c = read();
      }
      if (c == -1) {
        return null;
      }
      recordLine = line;
      List<String> fields = new ArrayList<>();
      StringBuilder field = new StringBuilder();
      boolean quoted = false;
      boolean fieldStart = true;
      while (true) {
        if (quoted) {
          if (c == -1) {
            throw new CaptionDatasetException(name + ":" + recordLine
                + ": expected a closing quote, found the end of the file");
          }
          if (c == '"') {
            int d = read();
            if (d == '"') {
              field.append('"');
            } else {
              quoted = false;
              c = d;
              continue;
            }
          } else {
            if (c == '\n') {
              line++;
            }
            field.append((char) c);
          }
        } else if (c == ',') {
          fields.add(field.toString());
          field.setLength(0);
          fieldStart = true;
          c = read();
          continue;
        } else if (c == '\n' || c == '\r' || c == -1) {
          fields.add(field.toString());
          if (c == '\r') {
            int d = read();
            if (d != '\n') {
              peeked = d;
            }
          }
          line++;
          return fields;
        } else if (c == '"' && fieldStart) {
          quoted = true;
        } else {
          field.append((char) c);
        }
        fieldStart = false;
        c = read();
      }
    }
  }
}
