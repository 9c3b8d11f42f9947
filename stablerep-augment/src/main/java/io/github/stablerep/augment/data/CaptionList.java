package io.github.stablerep.augment.data;

import static com.google.common.base.Preconditions.checkArgument;

import java.io.IOException;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * The captions a generation job is given: a UTF-8 text file with one caption per line (ids are
 * the line's position among the captions, from 0), or a TSV file {@code caption_id<TAB>caption}
 * with an optional {@code caption_id	caption} header, as the first non-blank line decides. Blank
 * lines, a byte-order mark and CRLF line ends are ignored. One reader for the single-machine job
 * and the Spark job, so both accept the same files and name the same folders.
 */
public final class CaptionList {

  /** A caption id names a folder: letters, digits, '.', '_' or '-', not starting with '.' or '-'. */
  private static final Pattern SAFE_ID = Pattern.compile("[A-Za-z0-9_][A-Za-z0-9._-]*");

  /** One caption of the input. */
  public record Entry(String id, String text) {}

  private CaptionList() {}

  /** Whether {@code id} can name a caption's folder. */
  public static boolean isSafeId(String id) {
    return id != null && SAFE_ID.matcher(id).matches();
  }

  /**
   * Reads a captions file.
   *
   * @throws IllegalArgumentException naming the file (and line) when it is missing, not UTF-8,
   *     empty, or has a malformed, unsafe or repeated id
   */
  public static List<Entry> read(Path file) throws IOException {
    checkArgument(file != null && Files.isRegularFile(file), "captions: expected a text or TSV file, found %s",
        file == null ? "null" : file + " (missing or not a file)");
    List<String> lines;
    try {
      lines = Files.readAllLines(file, StandardCharsets.UTF_8);
    } catch (CharacterCodingException e) {
      // the JDK's message is "Input length = 1", naming neither file nor problem
      throw new IllegalArgumentException("captions " + file + ": expected UTF-8 text, found malformed bytes", e);
    }
    List<String> records = new ArrayList<>();
    List<Integer> lineNos = new ArrayList<>();
    for (int i = 0; i < lines.size(); i++) {
      String l = lines.get(i);
      if (i == 0 && l.startsWith("\uFEFF")) {
        l = l.substring(1);
      }
      if (l.endsWith("\r")) {
        l = l.substring(0, l.length() - 1);
      }
      if (!l.isBlank()) {
        records.add(l);
        lineNos.add(i + 1);
      }
    }
    checkArgument(!records.isEmpty(), "captions %s: expected at least one caption, found none", file);
    boolean tsv = records.get(0).contains("\t");
    int start = tsv && records.get(0).equals("caption_id\tcaption") ? 1 : 0;
    List<Entry> out = new ArrayList<>();
    Set<String> ids = new HashSet<>();
    for (int r = start; r < records.size(); r++) {
      String where = file + ":" + lineNos.get(r);
      String id;
      String text;
      if (tsv) {
        String[] f = records.get(r).split("\t", -1);
        checkArgument(f.length == 2, "%s: expected 2 tab-separated fields (caption_id, caption), found %s", where,
            f.length);
        id = f[0];
        text = f[1];
        checkArgument(isSafeId(id),
            "%s: caption_id: expected letters, digits, '.', '_' or '-' (it names a folder), found \"%s\"", where, id);
      } else {
        checkArgument(!records.get(r).contains("\t"),
            "%s: expected a caption without tabs (the first line has none, so this is a plain caption file)", where);
        id = String.valueOf(out.size());
        text = records.get(r);
      }
      checkArgument(ids.add(id), "%s: expected unique caption ids, found \"%s\" again", where, id);
      out.add(new Entry(id, text));
    }
    return out;
  }
}
