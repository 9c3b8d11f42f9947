package io.github.stablerep.augment.data;

import static com.google.common.base.Preconditions.checkArgument;

import io.github.stablerep.core.io.AtomicFiles;
import java.io.BufferedReader;
import java.io.BufferedWriter;
import java.io.IOException;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The caption manifest: a UTF-8 text file with one line per image.
 *
 * <pre>
 * caption_id&lt;TAB&gt;caption&lt;TAB&gt;path
 * 0&lt;TAB&gt;a photo of a cat&lt;TAB&gt;0/seed0.png
 * 0&lt;TAB&gt;a photo of a cat&lt;TAB&gt;0/seed1.png
 * </pre>
 *
 * <ul>
 *   <li>The first line is exactly the header {@value #HEADER_TEXT} (tabs between the names). It
 *       makes a wrong file (a CSV, an old format) fail on line 1 rather than parse as garbage.
 *   <li>Every other line has exactly three tab-separated fields. There is no quoting: a field
 *       escapes a backslash as {@code \\}, a tab as {@code \t}, a line feed as {@code \n} and a
 *       carriage return as {@code \r}; any other backslash sequence is an error. So every caption
 *       round-trips, and a line is always one record.
 *   <li>Empty lines are ignored; a final line may end with or without a line feed; a {@code \r}
 *       before the line feed (a file saved on Windows) is dropped.
 *   <li>The path is relative to the manifest's folder, with {@code /} separators; absolute paths
 *       are refused so that a dataset folder can be moved as a whole, and so are paths that
 *       lead out of that folder ({@code ../..}) or hold control characters, unless the reader is
 *       given {@link PathPolicy#ANYWHERE} (see {@link PathPolicy}).
 *   <li>Every line of one caption id carries the same caption; caption ids appear in order of
 *       first appearance, and a caption's images in line order. A caption's lines need not be
 *       adjacent.
 * </ul>
 *
 * <p>Errors throw {@link CaptionDatasetException} naming {@code file:line}, the expectation
 * and what was found; bytes that are not UTF-8 too (the line is the one being read).
 */
public final class CaptionManifest {
  /** The header line's text. */
  public static final String HEADER_TEXT = "caption_id\tcaption\tpath";

  private CaptionManifest() {}

  /**
   * Reads a manifest; image paths are resolved against the manifest's folder and must stay
   * inside it ({@link PathPolicy#INSIDE_ROOT}).
   */
  public static CaptionDataset read(Path manifest) throws IOException {
    return read(manifest, PathPolicy.INSIDE_ROOT);
  }

  /** Reads a manifest, resolving image paths against its folder under {@code policy}. */
  public static CaptionDataset read(Path manifest, PathPolicy policy) throws IOException {
    checkArgument(policy != null, "policy: expected a PathPolicy, found null");
    Path file = manifest.toAbsolutePath();
    Path base = file.getParent();
    Map<String, String> captions = new LinkedHashMap<>();
    Map<String, Integer> firstLine = new LinkedHashMap<>();
    Map<String, List<Path>> images = new LinkedHashMap<>();
    int lineNo = 0;
    try (BufferedReader reader = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
      String line;
      boolean header = true;
      while ((line = reader.readLine()) != null) {
        lineNo++;
        if (line.endsWith("\r")) {
          line = line.substring(0, line.length() - 1);
        }
        String where = file + ":" + lineNo;
        if (header) {
          if (line.startsWith("\uFEFF")) {
            line = line.substring(1); // a BOM written by some editors, not part of the header
          }
          if (!line.equals(HEADER_TEXT)) {
            throw new CaptionDatasetException(where + ": expected the header \""
                + HEADER_TEXT.replace("\t", "\\t") + "\", found \"" + escape(line) + "\"");
          }
          header = false;
          continue;
        }
        if (line.isEmpty()) {
          continue;
        }
        String[] raw = line.split("\t", -1);
        if (raw.length != 3) {
          throw new CaptionDatasetException(where + ": expected 3 tab-separated fields"
              + " (caption_id, caption, path), found " + raw.length);
        }
        String id = unescape(raw[0], where, "caption_id");
        String caption = unescape(raw[1], where, "caption");
        String rel = unescape(raw[2], where, "path");
        if (id.isEmpty()) {
          throw new CaptionDatasetException(where + ": expected a non-empty caption_id, found \"\"");
        }
        if (rel.isEmpty()) {
          throw new CaptionDatasetException(where + ": expected a non-empty path, found \"\"");
        }
        if (policy == PathPolicy.INSIDE_ROOT && PathPolicy.isAbsolute(rel)) {
          throw new CaptionDatasetException(where + ": expected a path relative to the manifest's"
              + " folder, found the absolute path \"" + PathPolicy.printable(rel) + "\" (PathPolicy.ANYWHERE admits it)");
        }
        Path image;
        try {
          image = policy.resolve(base, rel);
        } catch (IllegalArgumentException e) {
          throw new CaptionDatasetException(where + ": path: " + e.getMessage(), e);
        }
        String known = captions.putIfAbsent(id, caption);
        if (known == null) {
          firstLine.put(id, lineNo);
        } else if (!known.equals(caption)) {
          throw new CaptionDatasetException(where + ": expected caption \"" + escape(known)
              + "\" for caption_id \"" + escape(id) + "\" (as on line " + firstLine.get(id)
              + "), found \"" + escape(caption) + "\"");
        }
        images.computeIfAbsent(id, k -> new ArrayList<>()).add(image);
      }
      if (header) {
        throw new CaptionDatasetException(file + ":1: expected the header \""
            + HEADER_TEXT.replace("\t", "\\t") + "\", found an empty file");
      }
    } catch (CharacterCodingException e) {
      throw new CaptionDatasetException(file + ":" + (lineNo + 1) + ": expected UTF-8 text, found malformed bytes",
          e);
    }
    List<CaptionGroup> groups = new ArrayList<>(captions.size());
    for (Map.Entry<String, String> e : captions.entrySet()) {
      groups.add(new CaptionGroup(e.getKey(), e.getValue(), images.get(e.getKey())));
    }
    return CaptionDataset.of(groups);
  }

  /**
   * Writes {@code dataset} as a manifest at {@code manifest}, atomically: a reader sees either
   * the old file or the complete new one, never a partial one (a temporary file in the same
   * folder is forced to disk and then renamed over the target).
   *
   * <p>Images outside the manifest's folder are written as {@code ../} paths; such a manifest
   * reads back only with {@link PathPolicy#ANYWHERE}.
   *
   * @throws IllegalArgumentException when an image path cannot be expressed relative to the
   *     manifest's folder (another file-system root)
   */
  public static void write(Path manifest, CaptionDataset dataset) throws IOException {
    Path file = manifest.toAbsolutePath();
    Path base = file.getParent();
    Files.createDirectories(base);
    AtomicFiles.writeStream(file, out -> {
      // A reporting encoder, as Files.newBufferedWriter's: a lone surrogate fails the write
      // instead of becoming '?'. Not closed: AtomicFiles owns the stream; the flush suffices.
      Writer w = new BufferedWriter(new OutputStreamWriter(out, StandardCharsets.UTF_8.newEncoder()));
      w.write(HEADER_TEXT);
      w.write('\n');
      for (CaptionGroup g : dataset.captions()) {
        String prefix = escape(g.id()) + '\t' + escape(g.caption()) + '\t';
        for (Path image : g.images()) {
          Path rel = base.relativize(image.toAbsolutePath().normalize());
          StringBuilder sb = new StringBuilder();
          for (int i = 0; i < rel.getNameCount(); i++) {
            if (i > 0) {
              sb.append('/');
            }
            sb.append(rel.getName(i));
          }
          w.write(prefix);
          w.write(escape(sb.toString()));
          w.write('\n');
        }
      }
      w.flush();
    });
  }

  /**
   * One record line of the manifest (with its line feed), escaped as {@link #write} does, for
   * writers that append to a manifest as images are produced (a resumable generation job)
   * instead of rewriting it. {@code relativePath} uses {@code /} separators and is relative to
   * the manifest's folder.
   *
   * @throws IllegalArgumentException for an empty id or path, or an absolute path
   */
  public static String line(String captionId, String caption, String relativePath) {
    if (captionId == null || captionId.isEmpty()) {
      throw new IllegalArgumentException("captionId: expected a non-empty string, found \""
          + captionId + "\"");
    }
    if (caption == null) {
      throw new IllegalArgumentException("caption: expected a string, found null");
    }
    if (relativePath == null || relativePath.isEmpty() || PathPolicy.isAbsolute(relativePath)) {
      throw new IllegalArgumentException("relativePath: expected a non-empty relative path,"
          + " found \"" + relativePath + "\"");
    }
    return escape(captionId) + '\t' + escape(caption) + '\t' + escape(relativePath) + '\n';
  }

  static String escape(String s) {
    StringBuilder sb = new StringBuilder(s.length());
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      switch (c) {
        case '\\' -> sb.append("\\\\");
        case '\t' -> sb.append("\\t");
        case '\n' -> sb.append("\\n");
        case '\r' -> sb.append("\\r");
        default -> sb.append(c);
      }
    }
    return sb.toString();
  }

  static String unescape(String s, String where, String field) throws CaptionDatasetException {
    if (s.indexOf('\\') < 0) {
      return s;
    }
    StringBuilder sb = new StringBuilder(s.length());
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      if (c != '\\') {
        sb.append(c);
        continue;
      }
      if (i + 1 == s.length()) {
        throw new CaptionDatasetException(where + ": " + field + ": expected one of \\\\ \\t \\n"
            + " \\r after a backslash, found the end of the field");
      }
      char e = s.charAt(++i);
      switch (e) {
        case '\\' -> sb.append('\\');
        case 't' -> sb.append('\t');
        case 'n' -> sb.append('\n');
        case 'r' -> sb.append('\r');
        default -> throw new CaptionDatasetException(where + ": " + field + ": expected one of"
            + " \\\\ \\t \\n \\r after a backslash, found \\" + e);
      }
    }
    return sb.toString();
  }
}
