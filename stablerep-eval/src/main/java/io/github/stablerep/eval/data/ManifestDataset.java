package io.github.stablerep.eval.data;

import java.io.BufferedReader;
import io.github.stablerep.augment.data.PathPolicy;
import java.io.IOException;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Objects;

/**
 * Images listed in a CSV or TSV manifest: one {@code path,label} (or {@code path<TAB>label})
 * per line, UTF-8.
 *
 * <p>The separator is a tab when the file name ends in {@code .tsv}, else a comma. Fields may
 * be double-quoted (a quote inside doubled, RFC 4180); a quoted field cannot span lines. The
 * first line is a header, and skipped, when its label field is not an integer; every other
 * line must have exactly two fields and a label that is a non-negative integer. Blank lines are
 * skipped. Relative paths are resolved against the manifest's folder, not the working
 * directory, so a dataset folder can be moved whole. Errors name the file and the 1-based line,
 * the expected and the found value. Files are decoded while reading, by an {@link
 * ImageDecoder} (default {@link ImageDecoder#standard()}); their existence is checked up front.
 *
 * <p><b>Untrusted manifests.</b> Paths are resolved under a {@link PathPolicy}, by default
 * {@link PathPolicy#INSIDE_ROOT}: an absolute path, a {@code ..} above the manifest's folder, a
 * control character (NUL) or a link to a file outside that folder is refused with {@link
 * DatasetFormatException} naming the manifest and line, as are bytes that are not UTF-8.
 */
public final class ManifestDataset extends FileListDataset {

  private ManifestDataset(List<Path> files, int[] labels, ImageDecoder decoder) {
    super(files, labels, decoder);
  }

  public static ManifestDataset open(Path manifest) throws IOException {
    return open(manifest, ImageDecoder.standard());
  }

  public static ManifestDataset open(Path manifest, ImageDecoder decoder) throws IOException {
    return open(manifest, decoder, PathPolicy.INSIDE_ROOT);
  }

  /** Reads {@code manifest}, resolving its paths under {@code policy}. */
  public static ManifestDataset open(Path manifest, ImageDecoder decoder, PathPolicy policy) throws IOException {
    Objects.requireNonNull(manifest, "manifest");
    Objects.requireNonNull(decoder, "decoder");
    Objects.requireNonNull(policy, "policy");
    char sep = manifest.getFileName().toString().toLowerCase(Locale.ROOT).endsWith(".tsv")
        ? '\t' : ',';
    Path base = manifest.toAbsolutePath().getParent();
    Path realBase = base.toRealPath();
    List<Path> files = new ArrayList<>();
    List<Integer> labels = new ArrayList<>();
    int lineNo = 0;
    try (BufferedReader r = Files.newBufferedReader(manifest, StandardCharsets.UTF_8)) {
      String line;
      boolean first = true;
      while ((line = r.readLine()) != null) {
        lineNo++;
        if (lineNo == 1 && line.startsWith("\uFEFF")) {
          line = line.substring(1); // a BOM, as spreadsheet exports write
        }
        if (line.isBlank()) {
          continue;
        }
        String where = manifest + ":" + lineNo;
        List<String> fields = split(line, sep, where);
        if (fields.size() != 2) {
          throw new DatasetFormatException(
              where + ": expected 2 fields (path" + (sep == '\t' ? "<TAB>" : ",") + "label), found "
                  + fields.size());
        }
        String labelText = fields.get(1).strip();
        boolean isInteger = labelText.matches("[+-]?\\d+");
        if (first && !isInteger) {
          first = false;
          continue; // the header
        }
        first = false;
        if (!isInteger) {
          throw new DatasetFormatException(
              where + ": expected an integer label, found '" + labelText + "'");
        }
        int label;
        try {
          label = Integer.parseInt(labelText);
        } catch (NumberFormatException e) {
          label = -1;
        }
        if (label < 0) {
          throw new DatasetFormatException(
              where + ": expected a label in [0, 2^31), found " + labelText);
        }
        String pathText = fields.get(0).strip();
        if (pathText.isEmpty()) {
          throw new DatasetFormatException(where + ": expected a path, found an empty field");
        }
        Path file;
        try {
          file = policy.resolve(base, pathText);
        } catch (IllegalArgumentException e) {
          throw new DatasetFormatException(where + ": " + e.getMessage(), e);
        }
        if (!Files.isRegularFile(file)) {
          throw new DatasetFormatException(where + ": expected an image file at " + file
              + ", found " + (Files.exists(file) ? "something else" : "nothing"));
        }
        try {
          policy.checkLinks(realBase, file);
        } catch (IllegalArgumentException e) {
          throw new DatasetFormatException(where + ": " + e.getMessage(), e);
        }
        files.add(file);
        labels.add(label);
      }
    } catch (CharacterCodingException e) {
      throw new DatasetFormatException(manifest + ":" + (lineNo + 1) + ": expected UTF-8 text, found malformed bytes",
          e);
    }
    if (files.isEmpty()) {
      throw new DatasetFormatException(manifest + ": expected at least one entry, found none");
    }
    return new ManifestDataset(files, labels.stream().mapToInt(Integer::intValue).toArray(),
        decoder);
  }

  /** Splits one line, honouring double quotes. */
  static List<String> split(String line, char sep, String where) throws DatasetFormatException {
    List<String> out = new ArrayList<>();
    StringBuilder cur = new StringBuilder();
    boolean quoted = false;
    boolean wasQuoted = false;
    for (int i = 0; i < line.length(); i++) {
      char ch = line.charAt(i);
      if (quoted) {
        if (ch == '"') {
          if (i + 1 < line.length() && line.charAt(i + 1) == '"') {
            cur.append('"');
            i++;
          } else {
            quoted = false;
          }
        } else {
          cur.append(ch);
        }
      } else if (ch == '"' && cur.toString().isBlank() && !wasQuoted) {
        quoted = true;
        wasQuoted = true;
        cur.setLength(0);
      } else if (ch == sep) {
        out.add(cur.toString());
        cur.setLength(0);
        wasQuoted = false;
      } else {
        cur.append(ch);
      }
    }
    if (quoted) {
      throw new DatasetFormatException(where + ": expected a closing quote, found end of line");
    }
    out.add(cur.toString());
    return out;
  }
}
