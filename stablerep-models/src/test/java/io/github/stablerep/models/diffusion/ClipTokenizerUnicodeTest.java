package io.github.stablerep.models.diffusion;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.stablerep.core.Goldens;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * Every code point's class under CLIP's pre-tokenisation pattern (whitespace, letter, number,
 * other) and its lower-case form, against Python's regex module and str.lower()
 * (golden/clip_tokenizer/unicode_classes.txt and lower.txt). Java 17 knows Unicode 13, Python's
 * tables are newer: code points Java holds unassigned are the only differences allowed.
 */
class ClipTokenizerUnicodeTest {

  // the classes as ClipTokenizer's pattern sees them (same flags)
  static final int FLAGS = Pattern.CASE_INSENSITIVE | Pattern.UNICODE_CASE | Pattern.UNICODE_CHARACTER_CLASS;
  static final Pattern SPACE = Pattern.compile("\\s", FLAGS);
  static final Pattern LETTER = Pattern.compile("[\\p{L}]", FLAGS);
  static final Pattern NUMBER = Pattern.compile("[\\p{N}]", FLAGS);

  @Test
  void codePointClassesMatchPythonRegex() throws IOException {
    char[] expected = new char[Character.MAX_CODE_POINT + 1];
    List<String> lines = Files.readAllLines(Goldens.dir("clip_tokenizer").resolve("unicode_classes.txt"));
    List<int[]> runs = new ArrayList<>();
    for (String line : lines) {
      if (!line.startsWith("#")) {
        String[] p = line.split(" ");
        runs.add(new int[] {Integer.parseInt(p[0], 16), p[1].charAt(0)});
      }
    }
    for (int r = 0; r < runs.size(); r++) {
      int end = r + 1 < runs.size() ? runs.get(r + 1)[0] : Character.MAX_CODE_POINT + 1;
      for (int cp = runs.get(r)[0]; cp < end; cp++) {
        expected[cp] = (char) runs.get(r)[1];
      }
    }
    List<String> mismatches = new ArrayList<>();
    int unassignedDiffs = 0;
    for (int cp = 0; cp <= Character.MAX_CODE_POINT; cp++) {
      if (cp >= Character.MIN_SURROGATE && cp <= Character.MAX_SURROGATE) {
        continue;
      }
      String s = new String(Character.toChars(cp));
      char actual = SPACE.matcher(s).matches() ? 's' : LETTER.matcher(s).matches() ? 'L' : NUMBER.matcher(s).matches() ? 'N' : 'o';
      if (actual != expected[cp]) {
        if (Character.getType(cp) == Character.UNASSIGNED) {
          unassignedDiffs++;
        } else {
          mismatches.add(String.format("U+%04X %s: python %s, java %s", cp, Character.getName(cp), expected[cp], actual));
        }
      }
    }
    System.out.println("clip tokenizer: code points classed differently, all unassigned in Java 17: " + unassignedDiffs);
    assertThat(mismatches).isEmpty();
  }

  @Test
  void lowerCaseMatchesPythonStrLower() throws IOException {
    Map<Integer, String> expected = new HashMap<>();
    for (String line : Files.readAllLines(Goldens.dir("clip_tokenizer").resolve("lower.txt"))) {
      if (!line.startsWith("#")) {
        String[] p = line.split(" ");
        StringBuilder b = new StringBuilder();
        for (int i = 1; i < p.length; i++) {
          b.appendCodePoint(Integer.parseInt(p[i], 16));
        }
        expected.put(Integer.parseInt(p[0], 16), b.toString());
      }
    }
    assertThat(expected).hasSizeGreaterThan(1000);
    List<String> mismatches = new ArrayList<>();
    int unassignedDiffs = 0;
    for (int cp = 0; cp <= Character.MAX_CODE_POINT; cp++) {
      if (cp >= Character.MIN_SURROGATE && cp <= Character.MAX_SURROGATE) {
        continue;
      }
      String s = new String(Character.toChars(cp));
      String want = expected.getOrDefault(cp, s);
      String got = s.toLowerCase(Locale.ROOT);
      if (!want.equals(got)) {
        if (Character.getType(cp) == Character.UNASSIGNED || Character.getType(Character.codePointAt(want, 0)) == Character.UNASSIGNED) {
          unassignedDiffs++;
        } else {
          mismatches.add(String.format("U+%04X %s", cp, Character.getName(cp)));
        }
      }
    }
    System.out.println("clip tokenizer: code points lower-cased differently, unassigned in Java 17: " + unassignedDiffs);
    assertThat(mismatches).isEmpty();
  }
}
