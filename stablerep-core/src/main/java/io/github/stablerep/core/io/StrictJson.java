package io.github.stablerep.core.io;

import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The project's one JSON library: a small, strict RFC 8259 parser for text that may come from
 * untrusted sources (safetensors headers, diffusers configs, tokenizer vocabularies, model
 * configs in checkpoint metadata), and a writer.
 *
 * <p>It exists (instead of a JSON dependency, or ND4J's shaded Jackson, which is ND4J's
 * internal and may move) because the core module may depend only on nd4j-api, guava and slf4j,
 * and because header validation needs two things general parsers do not give: duplicate object
 * keys are an error (a normal parser keeps the last one, which lets two tensors claim the same
 * name), and nesting depth is bounded (so that {@code [[[[...} cannot exhaust the stack).
 *
 * <p>Python's {@code json} writes {@code float('inf')} and {@code nan} as the non-standard
 * literals {@code Infinity}, {@code -Infinity} and {@code NaN} (diffusers saves DPM-Solver
 * configs with {@code "lambda_min_clipped": -Infinity}); {@link #parsePythonJson} accepts them
 * as {@link Double} values, {@link #parse} refuses them. The writer ({@link #write}, {@link
 * #writePretty}) refuses non-finite numbers, so what it writes every strict reader accepts.
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
public final class StrictJson {

  /** JSON {@code null}; a sentinel because the returned collections do not hold Java nulls. */
  public static final Object NULL = new Object() {
    @Override
    public String toString() {
      return "null";
    }
  };

  /**
   * Thrown for any syntax problem; the message ends with the character index in the text. An
   * {@link IllegalArgumentException}, as any other bad input.
   */
  public static final class SyntaxException extends IllegalArgumentException {
    private static final long serialVersionUID = 1L;

    SyntaxException(String message, int position) {
      super(message + " at character " + position);
    }
  }

  /**
   * The longest number accepted, in characters: a 64-bit integer has at most 20, a double
   * printed in full about 25; 100 leaves room for any real header and bounds the conversion.
   */
  public static final int MAX_NUMBER_CHARS = 100;

  private final String text;
  private final int maxDepth;
  private final boolean nonFinite;
  private int pos;

  private StrictJson(String text, int maxDepth, boolean nonFinite) {
    this.text = text;
    this.maxDepth = maxDepth;
    this.nonFinite = nonFinite;
  }

  /**
   * Parses one JSON value that spans the whole text, apart from surrounding whitespace.
   *
   * @param maxDepth the deepest nesting of objects and arrays allowed (1: no nesting)
   * @throws SyntaxException for any deviation from RFC 8259, a duplicate key, nesting deeper
   *     than {@code maxDepth} or a number longer than {@link #MAX_NUMBER_CHARS}
   */
  public static Object parse(String text, int maxDepth) {
    return parse(text, maxDepth, false);
  }

  /**
   * As {@link #parse}, but also accepts Python's {@code NaN}, {@code Infinity} and {@code
   * -Infinity} as numbers (returned as {@link Double}), as {@code json.loads} does.
   */
  public static Object parsePythonJson(String text, int maxDepth) {
    return parse(text, maxDepth, true);
  }

  private static Object parse(String text, int maxDepth, boolean nonFinite) {
    if (text == null) {
      throw new IllegalArgumentException("text: expected JSON text, found null");
    }
    StrictJson p = new StrictJson(text, maxDepth, nonFinite);
    p.skipWhitespace();
    Object value = p.value(0);
    p.skipWhitespace();
    if (p.pos != text.length()) {
      throw new SyntaxException("unexpected content after the JSON value", p.pos);
    }
    return value;
  }

  /** A short, human name for the JSON type of a parsed value, for error messages. */
  public static String typeName(Object value) {
    if (value instanceof Map) {
      return "an object";
    } else if (value instanceof List) {
      return "an array";
    } else if (value instanceof String) {
      return "a string";
    } else if (value instanceof BigDecimal || value instanceof Double) {
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
  public static Long exactLong(Object value) {
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
      case 'N':
        return nonFiniteLiteral("NaN", Double.NaN);
      case 'I':
        return nonFiniteLiteral("Infinity", Double.POSITIVE_INFINITY);
      default:
        if (c == '-' && text.startsWith("-Infinity", pos)) {
          return nonFiniteLiteral("-Infinity", Double.NEGATIVE_INFINITY);
        }
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

  private Double nonFiniteLiteral(String word, double value) {
    if (!nonFinite) {
      throw new SyntaxException("expected a finite number, found the non-standard literal " + word, pos);
    }
    literal(word);
    return value;
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

  // ---------------------------------------------------------------- writer

  /**
   * {@code value} as compact JSON text. Accepts what {@link #parse} returns and the Java values
   * that naturally map to JSON: {@link Map} (keys written with {@code String.valueOf}, in
   * iteration order), {@link Iterable}, object and primitive arrays, {@link CharSequence},
   * {@link Boolean}, {@link Number}, {@link Enum} (its name), and {@code null} or {@link #NULL}.
   * Doubles and floats are written in Java's shortest round-trip form, so parsing the text gives
   * the same value back.
   *
   * @throws IllegalArgumentException for a non-finite number (JSON has none; the message gives
   *     the path to it, e.g. {@code $.linear.top1}) or a value of another type
   */
  public static String write(Object value) {
    StringBuilder sb = new StringBuilder();
    write(sb, value, null, "$");
    return sb.toString();
  }

  /**
   * As {@link #write}, indented by two spaces per object level, arrays kept on one line, and a
   * final newline: for files people read.
   */
  public static String writePretty(Object value) {
    StringBuilder sb = new StringBuilder();
    write(sb, value, "", "$");
    return sb.append('\n').toString();
  }

  /** {@code s} as a JSON string literal, quotes included. */
  public static String quote(String s) {
    StringBuilder sb = new StringBuilder(s.length() + 2);
    string(sb, s);
    return sb.toString();
  }

  /** {@code indent} null: compact. */
  private static void write(StringBuilder sb, Object v, String indent, String path) {
    if (v == null || v == NULL) {
      sb.append("null");
    } else if (v instanceof CharSequence s) {
      string(sb, s.toString());
    } else if (v instanceof Boolean b) {
      sb.append(b.booleanValue());
    } else if (v instanceof Enum<?> e) {
      string(sb, e.name());
    } else if (v instanceof Double || v instanceof Float) {
      sb.append(finite(((Number) v).doubleValue(), path));
    } else if (v instanceof BigDecimal d) {
      sb.append(d.toString());
    } else if (v instanceof Number n) {
      // Integer, Long, Short, Byte, BigInteger, AtomicLong ...: their decimal form is JSON
      String t = n.toString();
      if (!t.matches("-?[0-9]+")) {
        throw new IllegalArgumentException(path + ": expected a JSON number, found " + n.getClass().getName() + " " + t);
      }
      sb.append(t);
    } else if (v instanceof Map<?, ?> map) {
      sb.append('{');
      String inner = indent == null ? null : indent + "  ";
      boolean first = true;
      for (Map.Entry<?, ?> e : map.entrySet()) {
        sb.append(first ? "" : ",");
        first = false;
        if (inner != null) {
          sb.append('\n').append(inner);
        }
        String key = String.valueOf(e.getKey());
        string(sb, key);
        sb.append(inner == null ? ":" : ": ");
        write(sb, e.getValue(), inner, path + "." + key);
      }
      sb.append(map.isEmpty() || indent == null ? "" : "\n" + indent).append('}');
    } else if (v instanceof Iterable<?> list) {
      List<Object> items = new ArrayList<>();
      list.forEach(items::add);
      array(sb, items, indent, path);
    } else if (v instanceof Object[] a) {
      array(sb, List.of(a), indent, path);
    } else if (v.getClass().isArray()) {
      int n = java.lang.reflect.Array.getLength(v);
      List<Object> items = new ArrayList<>(n);
      for (int i = 0; i < n; i++) {
        items.add(java.lang.reflect.Array.get(v, i));
      }
      array(sb, items, indent, path);
    } else {
      throw new IllegalArgumentException(path + ": expected a JSON value (map, list, array, string, number, boolean,"
          + " null), found a " + v.getClass().getName());
    }
  }

  private static void array(StringBuilder sb, List<Object> items, String indent, String path) {
    sb.append('[');
    for (int i = 0; i < items.size(); i++) {
      sb.append(i == 0 ? "" : indent == null ? "," : ", ");
      write(sb, items.get(i), indent, path + "[" + i + "]");
    }
    sb.append(']');
  }

  private static String finite(double d, String path) {
    if (!Double.isFinite(d)) {
      throw new IllegalArgumentException(path + ": expected a finite number (JSON has no NaN or infinity), found " + d);
    }
    return Double.toString(d);
  }

  private static void string(StringBuilder sb, String s) {
    sb.append('"');
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      switch (c) {
        case '"' -> sb.append("\\\"");
        case '\\' -> sb.append("\\\\");
        case '\n' -> sb.append("\\n");
        case '\r' -> sb.append("\\r");
        case '\t' -> sb.append("\\t");
        case '\b' -> sb.append("\\b");
        case '\f' -> sb.append("\\f");
        default -> {
          // control characters, and U+2028/2029 which break JavaScript readers of "JSON"
          boolean lone = Character.isHighSurrogate(c)
              ? i + 1 >= s.length() || !Character.isLowSurrogate(s.charAt(i + 1))
              : Character.isLowSurrogate(c) && (i == 0 || !Character.isHighSurrogate(s.charAt(i - 1)));
          // a lone surrogate escaped survives UTF-8 encoding, which would replace it with '?'
          if (c < 0x20 || c == 0x2028 || c == 0x2029 || lone) {
            sb.append(String.format(java.util.Locale.ROOT, "\\u%04x", (int) c));
          } else {
            sb.append(c);
          }
        }
      }
    }
    sb.append('"');
  }
}
