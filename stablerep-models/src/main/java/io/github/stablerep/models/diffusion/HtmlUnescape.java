package io.github.stablerep.models.diffusion;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * HTML character-reference decoding with the rules of Python's {@code html.unescape}, which
 * CLIP's text cleanup applies (twice). Python follows the HTML standard: all 2231 named
 * references, the legacy names that need no semicolon (longest prefix wins, so {@code &notit;}
 * is {@code ¬it;}), the Windows-1252 fix-ups for numeric references 0x80-0x9F, U+FFFD for
 * surrogates and numbers past U+10FFFF, and nothing for the non-characters the standard drops.
 * The tables are read from {@code clip/html5_entities.txt}, written from Python's own tables by
 * {@code tools/reference/clip_tokenizer_reference.py}, so both sides apply the same data.
 */
final class HtmlUnescape {
  private static final String RESOURCE = "clip/html5_entities.txt";
  // Python: &(#[0-9]+;?|#[xX][0-9a-fA-F]+;?|[^\t\n\f <&#;]{1,32};?)
  private static final Pattern CHARREF =
      Pattern.compile("&(#[0-9]+;?|#[xX][0-9a-fA-F]+;?|[^\\t\\n\\f <&#;]{1,32};?)");
  private static final BigInteger MAX_CODE_POINT = BigInteger.valueOf(Character.MAX_CODE_POINT);

  private static final Map<String, String> NAMED = new HashMap<>();
  private static final Map<Integer, String> CHARREF_FIXES = new HashMap<>();
  private static final Set<Integer> DROPPED = new HashSet<>();

  static {
    load();
  }

  private HtmlUnescape() {}

  static String unescape(String s) {
    if (s.indexOf('&') < 0) {
      return s;
    }
    Matcher m = CHARREF.matcher(s);
    StringBuilder out = new StringBuilder(s.length());
    while (m.find()) {
      m.appendReplacement(out, Matcher.quoteReplacement(replace(m.group(1))));
    }
    m.appendTail(out);
    return out.toString();
  }

  private static String replace(String ref) {
    if (ref.charAt(0) == '#') {
      boolean hex = ref.charAt(1) == 'x' || ref.charAt(1) == 'X';
      String digits = ref.substring(hex ? 2 : 1);
      if (digits.endsWith(";")) {
        digits = digits.substring(0, digits.length() - 1);
      }
      // Python's int() is unbounded: a huge number is simply past U+10FFFF
      BigInteger big = new BigInteger(digits, hex ? 16 : 10);
      if (big.compareTo(MAX_CODE_POINT) > 0) {
        return "\uFFFD";
      }
      int num = big.intValue();
      String fix = CHARREF_FIXES.get(num);
      if (fix != null) {
        return fix;
      }
      if (num >= 0xD800 && num <= 0xDFFF) {
        return "\uFFFD";
      }
      if (DROPPED.contains(num)) {
        return "";
      }
      return new String(Character.toChars(num));
    }
    String whole = NAMED.get(ref);
    if (whole != null) {
      return whole;
    }
    // the longest prefix (of at least two code units, as Python slices str) that is a name
    for (int x = ref.length() - 1; x > 1; x--) {
      String value = NAMED.get(ref.substring(0, x));
      if (value != null) {
        return value + ref.substring(x);
      }
    }
    return "&" + ref;
  }

  private static void load() {
    InputStream in = HtmlUnescape.class.getResourceAsStream(RESOURCE);
    if (in == null) {
      throw new IllegalStateException("resource " + RESOURCE + " is missing from stablerep-models");
    }
    try (BufferedReader r = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8))) {
      String line;
      while ((line = r.readLine()) != null) {
        if (line.startsWith("# ") || line.isEmpty()) {
          continue;
        }
        String[] parts = line.split("\t");
        if (parts[0].equals("#charref")) {
          CHARREF_FIXES.put(Integer.parseInt(parts[1], 16), codePoints(parts[2]));
        } else if (parts[0].equals("#invalid")) {
          for (String n : parts[1].split(" ")) {
            DROPPED.add(Integer.parseInt(n, 16));
          }
        } else {
          NAMED.put(parts[0], codePoints(parts[1]));
        }
      }
    } catch (IOException e) {
      throw new UncheckedIOException("resource " + RESOURCE + ": cannot be read", e);
    }
  }

  private static String codePoints(String hexList) {
    StringBuilder b = new StringBuilder();
    for (String h : hexList.split(" ")) {
      b.appendCodePoint(Integer.parseInt(h, 16));
    }
    return b.toString();
  }
}
