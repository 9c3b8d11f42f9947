package io.github.stablerep.core.io;

import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A small, strict RFC 8259 JSON parser for file headers that may come from untrusted sources.
 *
 * <p>It exists (instead of a JSON dependency) because the core module may depend only on
 * nd4j-api, guava and slf4j, and because header validation needs two things general parsers do
 * not give: duplicate object keys are an error (a normal parser keeps the last one, which lets
 * two tensors claim the same name), and nesting depth is bounded (so that {@code [[[[...} cannot
 * exhaust the stack).
 *
 * <p>Numbers are limited to {@link #MAX_NUMBER_CHARS} characters, checked after the linear scan
 * and before conversion: {@code BigDecimal}'s parse is quadratic in the digit count
 * (benchmarks/README.md, "Figures behind library comments"), so without the bound a hostile header of a few MB could
 * stall the reader for hours. With it, parsing is linear in the text.
 *
 * <p>Values map to: {@link Map} (insertion-ordered, unmodifiable), {@link List}, {@link String},
 * {@link BigDecimal}, {@link Boolean} and {@link #NULL}. Numbers are kept exact so that callers
 * can tell {@code 3} from {@code 3.5} and from {@code 1e30}.
 */
final class StrictJson {

  /** JSON {@code null}; a sentinel because the returned collections do not hold Java nulls. */
  static final Object NULL = new Object() {
    @Override
    public String toString() {
      return "null";
    }
  };

  /** Thrown for any syntax problem; {@code position} is the character index in the text. */
  static final class SyntaxException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    SyntaxException(String message, int position) {
      super(message + " at character " + position);
    }
  }

  /**
   * The longest number accepted, in characters: a 64-bit integer has at most 20, a double
   * printed in full about 25; 100 leaves room for any real header and bounds the conversion.
   */
  static final int MAX_NUMBER_CHARS = 100;

  private final String text;
  private final int maxDepth;
  private int pos;

  private StrictJson(String text, int maxDepth) {
    this.text = text;
    this.maxDepth = maxDepth;
  }

  /** Parses one JSON value that spans the whole text, apart from surrounding whitespace. */
  static Object parse(String text, int maxDepth) {
    StrictJson p = new StrictJson(text, maxDepth);
    p.skipWhitespace();
    Object value = p.value(0);
    p.skipWhitespace();
    if (p.pos != text.length()) {
      throw new SyntaxException("unexpected content after the JSON value", p.pos);
    }
    return value;
  }

  /** A short, human name for the JSON type of a parsed value, for error messages. */
  static String typeName(Object value) {
    if (value instanceof Map) {
      return "an object";
    } else if (value instanceof List) {
      return "an array";
    } else if (value instanceof String) {
      return "a string";
    } else if (value instanceof BigDecimal) {
      return "a number";
    } else if (value instanceof Boolean) {
      return "a boolean";
    }
    return "null";
  }

  /**
   * The value as a long when it is an integral JSON number that fits, else null. Checks the
   * magnitude from scale and precision first: {@code toBigIntegerExact()} on {@code 1e999999999}
   * would try to build a billion-digit number.
   */
  static Long exactLong(Object value) {
    if (!(value instanceof BigDecimal)) {
      return null;
    }
    BigDecimal d = (BigDecimal) value;
    if (d.signum() == 0) {
      return 0L;
    }
    BigDecimal s = d.stripTrailingZeros();
    if (s.scale() > 0 || (long) s.precision() - s.scale() > 19) {
      return null;
    }
    try {
      return s.longValueExact();
    } catch (ArithmeticException e) {
      return null;
    }
  }

  private Object value(int depth) {
    if (pos >= text.length()) {
      throw new SyntaxException("unexpected end of text, expected a value", pos);
    }
    char c = text.charAt(pos);
    switch (c) {
      case '{':
        return object(depth + 1);
      case '[':
        return array(depth + 1);
      case '"':
        return string();
      case 't':
        literal("true");
        return Boolean.TRUE;
      case 'f':
        literal("false");
        return Boolean.FALSE;
      case 'n':
        literal("null");
        return NULL;
      default:
        if (c == '-' || (c >= '0' && c <= '9')) {
          return number();
        }
        throw new SyntaxException("unexpected character '" + printable(c) + "'", pos);
    }
  }

  private Map<String, Object> object(int depth) {
    checkDepth(depth);
    pos++; // '{'
    Map<String, Object> map = new LinkedHashMap<>();
    skipWhitespace();
    if (peek() == '}') {
      pos++;
      return Collections.unmodifiableMap(map);
    }
    while (true) {
      skipWhitespace();
      if (peek() != '"') {
        throw new SyntaxException("expected a string key", pos);
      }
      int keyPos = pos;
      String key = string();
      skipWhitespace();
      expect(':');
      skipWhitespace();
      Object v = value(depth);
      if (map.putIfAbsent(key, v) != null) {
        throw new SyntaxException("duplicate key \"" + key + "\"", keyPos);
      }
      skipWhitespace();
      char c = peek();
      pos++;
      if (c == '}') {
        return Collections.unmodifiableMap(map);
      } else if (c != ',') {
        throw new SyntaxException("expected ',' or '}' in object", pos - 1);
      }
    }
  }

  private List<Object> array(int depth) {
    checkDepth(depth);
    pos++; // '['
    List<Object> list = new ArrayList<>();
    skipWhitespace();
    if (peek() == ']') {
      pos++;
      return Collections.unmodifiableList(list);
    }
    while (true) {
      skipWhitespace();
      list.add(value(depth));
      skipWhitespace();
      char c = peek();
      pos++;
      if (c == ']') {
        return Collections.unmodifiableList(list);
      } else if (c != ',') {
        throw new SyntaxException("expected ',' or ']' in array", pos - 1);
      }
    }
  }

  private String string() {
    pos++; // opening quote
    StringBuilder sb = new StringBuilder();
    while (true) {
      if (pos >= text.length()) {
        throw new SyntaxException("unterminated string", pos);
      }
      char c = text.charAt(pos++);
      if (c == '"') {
        return sb.toString();
      } else if (c == '\\') {
        if (pos >= text.length()) {
          throw new SyntaxException("unterminated escape", pos);
        }
        char e = text.charAt(pos++);
        switch (e) {
          case '"': sb.append('"'); break;
          case '\\': sb.append('\\'); break;
          case '/': sb.append('/'); break;
          case 'b': sb.append('\b'); break;
          case 'f': sb.append('\f'); break;
          case 'n': sb.append('\n'); break;
          case 'r': sb.append('\r'); break;
          case 't': sb.append('\t'); break;
          case 'u': sb.append(unicodeEscape()); break;
          default:
            throw new SyntaxException("invalid escape '\\" + printable(e) + "'", pos - 1);
        }
      } else if (c < 0x20) {
        throw new SyntaxException("unescaped control character in string", pos - 1);
      } else {
        sb.append(c);
      }
    }
  }

  private char unicodeEscape() {
    if (pos + 4 > text.length()) {
      throw new SyntaxException("truncated \\u escape", pos);
    }
    int v = 0;
    for (int i = 0; i < 4; i++) {
      int d = Character.digit(text.charAt(pos + i), 16);
      if (d < 0) {
        throw new SyntaxException("invalid hex digit in \\u escape", pos + i);
      }
      v = v * 16 + d;
    }
    pos += 4;
    return (char) v;
  }

  private BigDecimal number() {
    int start = pos;
    if (peek() == '-') {
      pos++;
    }
    if (peek() == '0') {
      pos++;
    } else if (isDigit(peek())) {
      digits();
    } else {
      throw new SyntaxException("expected a digit", pos);
    }
    if (peek() == '.') {
      pos++;
      if (!isDigit(peek())) {
        throw new SyntaxException("expected a digit after '.'", pos);
      }
      digits();
    }
    if (peek() == 'e' || peek() == 'E') {
      pos++;
      if (peek() == '+' || peek() == '-') {
        pos++;
      }
      if (!isDigit(peek())) {
        throw new SyntaxException("expected a digit in exponent", pos);
      }
      digits();
    }
    if (pos - start > MAX_NUMBER_CHARS) {
      throw new SyntaxException("expected a number of at most " + MAX_NUMBER_CHARS
          + " characters, found one of " + (pos - start), start);
    }
    try {
      return new BigDecimal(text.substring(start, pos));
    } catch (NumberFormatException e) {
      // e.g. an exponent beyond int range
      throw new SyntaxException("number out of range", start);
    }
  }

  private void digits() {
    while (isDigit(peek())) {
      pos++;
    }
  }

  private static boolean isDigit(char c) {
    return c >= '0' && c <= '9';
  }

  private void literal(String word) {
    if (!text.startsWith(word, pos)) {
      throw new SyntaxException("invalid literal, expected " + word, pos);
    }
    pos += word.length();
  }

  private void expect(char c) {
    if (peek() != c) {
      throw new SyntaxException("expected '" + c + "'", pos);
    }
    pos++;
  }

  /** The current character, or NUL at the end (NUL never starts a valid token). */
  private char peek() {
    return pos < text.length() ? text.charAt(pos) : '\0';
  }

  private void skipWhitespace() {
    while (pos < text.length()) {
      char c = text.charAt(pos);
      if (c != ' ' && c != '\t' && c != '\n' && c != '\r') {
        return;
      }
      pos++;
    }
  }

  private void checkDepth(int depth) {
    if (depth > maxDepth) {
      throw new SyntaxException("nesting deeper than " + maxDepth, pos);
    }
  }

  private static String printable(char c) {
    return c >= 0x20 && c < 0x7f ? String.valueOf(c) : String.format("\\u%04x", (int) c);
  }
}
