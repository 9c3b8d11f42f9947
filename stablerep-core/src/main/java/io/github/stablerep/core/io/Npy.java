package io.github.stablerep.core.io;

import static com.google.common.base.Preconditions.checkArgument;
import static com.google.common.base.Preconditions.checkNotNull;

import com.google.common.collect.ImmutableMap;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Reads and writes NumPy's <a href="https://numpy.org/doc/stable/reference/generated/numpy.lib.format.html">
 * {@code .npy}</a> format, versions 1.0, 2.0 and 3.0, as written by {@code numpy.save}.
 *
 * <p>The format: the magic {@code \x93NUMPY}, a major and minor version byte, a little-endian
 * header length (2 bytes in 1.0, 4 bytes in 2.0 and 3.0), then a Python dict literal such as
 * {@code {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }} padded with spaces and a
 * newline, then the raw elements.
 *
 * <p>Data types: {@code <f2} ({@code HALF}), {@code <f4} ({@code FLOAT}), {@code <f8}
 * ({@code DOUBLE}), {@code |i1} ({@code BYTE}), {@code <i2} ({@code SHORT}), {@code <i4}
 * ({@code INT}), {@code <i8} ({@code LONG}), {@code |u1} ({@code UBYTE}) and {@code |b1}
 * ({@code BOOL}); reading also accepts the big-endian {@code >} forms. C and Fortran order,
 * scalars (shape {@code ()}) and zero-size arrays are supported; structured dtypes and object
 * arrays are not.
 *
 * <p>Reading validates the magic, version, header length (against the file and a 1 MiB bound,
 * before allocating), the dict (exactly the three keys, no duplicates, known descr, a shape of
 * non-negative integers whose byte size does not overflow) and that the data is exactly the
 * declared size. Any violation throws {@link NpyException} naming the file, what was expected
 * and what was found. Writing produces the same bytes as {@code numpy.save}, atomically.
 */
public final class Npy {

  private static final byte[] MAGIC = {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y'};
  /** numpy itself refuses headers over 10 000 bytes by default; this is generous and still safe. */
  static final int MAX_HEADER_BYTES = 1 << 20;
  /** numpy aligns the data start to this. */
  private static final int ALIGN = 64;
  /** numpy leaves this much room to grow the first (C) or last (Fortran) axis in place. */
  private static final int GROWTH_AXIS_MAX_DIGITS = 21;

  @SuppressWarnings("deprecation")
  private static final ImmutableMap<String, DataType> DESCR = ImmutableMap.<String, DataType>builder()
      .put("f2", DataType.HALF)
      .put("f4", DataType.FLOAT)
      .put("f8", DataType.DOUBLE)
      .put("i1", DataType.BYTE)
      .put("i2", DataType.SHORT)
      .put("i4", DataType.INT)
      .put("i8", DataType.LONG)
      .put("u1", DataType.UBYTE)
      .put("b1", DataType.BOOL)
      .buildOrThrow();

  @SuppressWarnings("deprecation")
  private static final ImmutableMap<DataType, String> WRITE_DESCR = ImmutableMap.<DataType, String>builder()
      .put(DataType.HALF, "<f2")
      .put(DataType.FLOAT, "<f4")
      .put(DataType.DOUBLE, "<f8")
      .put(DataType.BYTE, "|i1")
      .put(DataType.SHORT, "<i2")
      .put(DataType.INT, "<i4")
      .put(DataType.LONG, "<i8")
      .put(DataType.UBYTE, "|u1")
      .put(DataType.BOOL, "|b1")
      .buildOrThrow();

  private Npy() {}

  /**
   * Reads an array; the result is in C order whatever the file's order.
   *
   * @throws NpyException if the file is malformed or of an unsupported dtype
   * @throws IOException if it cannot be read
   */
  public static INDArray read(Path path) throws IOException {
    checkNotNull(path, "path");
    if (java.nio.file.Files.isDirectory(path)) {
      // a folder opens as a channel on Linux and then fails to read with a bare "Is a directory"
      throw new NpyException(path + ": expected a .npy file, found a folder");
    }
    try (FileChannel ch = FileChannel.open(path, StandardOpenOption.READ)) {
      long size = ch.size();
      if (size < 10) {
        throw fail(path, "expected at least 10 bytes (magic, version, header length), found "
            + size);
      }
      ByteBuffer prefix = ByteBuffer.allocate(12).order(ByteOrder.LITTLE_ENDIAN);
      prefix.limit((int) Math.min(12, size));
      readFully(path, ch, prefix, 0);
      for (int i = 0; i < MAGIC.length; i++) {
        if (prefix.get(i) != MAGIC[i]) {
          throw fail(path, "expected the magic \\x93NUMPY, found other bytes");
        }
      }
      int major = prefix.get(6) & 0xff;
      int minor = prefix.get(7) & 0xff;
      if (major < 1 || major > 3 || minor != 0) {
        throw fail(path, "expected format version 1.0, 2.0 or 3.0, found " + major + "." + minor);
      }
      long headerLength;
      int headerStart;
      if (major == 1) {
        headerLength = prefix.getShort(8) & 0xffff;
        headerStart = 10;
      } else {
        if (size < 12) {
          throw fail(path, "expected at least 12 bytes for a version " + major
              + ".0 header length, found " + size);
        }
        headerLength = prefix.getInt(8) & 0xffffffffL;
        headerStart = 12;
      }
      if (headerLength > MAX_HEADER_BYTES || headerLength > size - headerStart) {
        throw fail(path, "expected a header length of at most "
            + Math.min(MAX_HEADER_BYTES, size - headerStart) + " bytes, found " + headerLength);
      }
      ByteBuffer raw = ByteBuffer.allocate((int) headerLength);
      readFully(path, ch, raw, headerStart);
      // Versions 1 and 2 are latin-1 by definition; 3.0 exists to allow UTF-8.
      String text = new String(raw.array(),
          major == 3 ? StandardCharsets.UTF_8 : StandardCharsets.ISO_8859_1);
      Header h = Header.parse(path, text);
      long dataStart = headerStart + headerLength;
      long expected = h.byteLength;
      if (size - dataStart != expected) {
        throw fail(path, "expected " + expected + " data bytes for shape "
            + Arrays.toString(h.shape) + " of " + h.descr + ", found " + (size - dataStart));
      }
      char ordering = h.fortran && h.shape.length > 1 ? 'f' : 'c';
      INDArray a = NativeBytes.read(ch, dataStart, expected, h.type, h.shape, ordering,
          h.order);
      return ordering == 'c' ? a : a.dup('c');
    }
  }

  /**
   * Writes an array in C order with the header {@code numpy.save} would write (version 1.0, or
   * 2.0 when the header needs it), atomically.
   *
   * @throws IllegalArgumentException if the array's data type has no {@code .npy} equivalent
   *     here (for example {@code BFLOAT16})
   */
  public static void write(Path path, INDArray array) throws IOException {
    checkNotNull(path, "path");
    checkNotNull(array, "array");
    String descr = WRITE_DESCR.get(array.dataType());
    checkArgument(descr != null, "data type %s cannot be written as .npy; supported: %s",
        array.dataType(), WRITE_DESCR.keySet());
    long[] shape = array.shape();
    StringBuilder dict = new StringBuilder("{'descr': '").append(descr)
        .append("', 'fortran_order': False, 'shape': (");
    for (int i = 0; i < shape.length; i++) {
      dict.append(i == 0 ? "" : ", ").append(shape[i]);
    }
    dict.append(shape.length == 1 ? ",), }" : "), }");
    if (shape.length > 0) {
      dict.append(" ".repeat(GROWTH_AXIS_MAX_DIGITS - Long.toString(shape[0]).length()));
    }
    byte[] text = dict.toString().getBytes(StandardCharsets.ISO_8859_1);
    int withNewline = text.length + 1;
    int prefix1 = MAGIC.length + 2 + 2;
    int pad = ALIGN - ((prefix1 + withNewline) % ALIGN);
    boolean v1 = withNewline + pad <= 0xffff;
    int prefixLength = v1 ? prefix1 : MAGIC.length + 2 + 4;
    if (!v1) {
      pad = ALIGN - ((prefixLength + withNewline) % ALIGN);
    }
    int headerLength = withNewline + pad;
    ByteBuffer head = ByteBuffer.allocate(prefixLength + headerLength)
        .order(ByteOrder.LITTLE_ENDIAN);
    head.put(MAGIC).put((byte) (v1 ? 1 : 2)).put((byte) 0);
    if (v1) {
      head.putShort((short) headerLength);
    } else {
      head.putInt(headerLength);
    }
    head.put(text);
    for (int i = 0; i < pad; i++) {
      head.put((byte) ' ');
    }
    head.put((byte) '\n').flip();
    AtomicFiles.write(path, channel -> {
      while (head.hasRemaining()) {
        channel.write(head);
      }
      NativeBytes.writeLittleEndian(array, channel);
    });
  }

  private static void readFully(Path path, FileChannel ch, ByteBuffer buffer, long position)
      throws IOException {
    long p = position;
    while (buffer.hasRemaining()) {
      int n = ch.read(buffer, p);
      if (n < 0) {
        throw fail(path, "expected more bytes at offset " + p + ", found the end of the file");
      }
      p += n;
    }
  }

  static NpyException fail(Path path, String problem) {
    return new NpyException(path + ": " + problem);
  }

  /** The parsed header dict: a tiny parser for the subset of Python literals numpy writes. */
  private static final class Header {
    String descr;
    DataType type;
    ByteOrder order;
    boolean fortran;
    long[] shape;
    long byteLength;

    private final Path path;
    private final String text;
    private int pos;

    private Header(Path path, String text) {
      this.path = path;
      this.text = text;
    }

    static Header parse(Path path, String text) throws NpyException {
      Header h = new Header(path, text);
      Map<String, Object> dict = h.dict();
      h.validate(dict);
      return h;
    }

    private Map<String, Object> dict() throws NpyException {
      Map<String, Object> dict = new LinkedHashMap<>();
      skipSpace();
      expect('{');
      while (true) {
        skipSpace();
        if (peek() == '}') {
          pos++;
          break;
        }
        int at = pos;
        String key = string();
        skipSpace();
        expect(':');
        skipSpace();
        Object value = value();
        if (dict.put(key, value) != null) {
          throw problem("expected each key once, found '" + key + "' twice at character " + at);
        }
        skipSpace();
        if (peek() == ',') {
          pos++;
        } else if (peek() != '}') {
          throw problem("expected ',' or '}' at character " + pos + ", found " + found());
        }
      }
      skipSpace();
      if (pos != text.length()) {
        throw problem("expected only padding after the header dict, found " + found()
            + " at character " + pos);
      }
      return dict;
    }

    private Object value() throws NpyException {
      char c = peek();
      if (c == '\'' || c == '"') {
        return string();
      } else if (text.startsWith("True", pos)) {
        pos += 4;
        return Boolean.TRUE;
      } else if (text.startsWith("False", pos)) {
        pos += 5;
        return Boolean.FALSE;
      } else if (c == '(') {
        return tuple();
      }
      throw problem("expected a string, True, False or a tuple at character " + pos
          + ", found " + found());
    }

    private List<Long> tuple() throws NpyException {
      pos++; // '('
      List<Long> items = new ArrayList<>();
      while (true) {
        skipSpace();
        if (peek() == ')') {
          pos++;
          return items;
        }
        int start = pos;
        while (peek() >= '0' && peek() <= '9') {
          pos++;
        }
        if (start == pos) {
          throw problem("expected a non-negative integer in the shape at character " + pos
              + ", found " + found());
        }
        try {
          items.add(Long.parseLong(text.substring(start, pos)));
        } catch (NumberFormatException e) {
          throw problem("expected a shape dimension below 2^63, found "
              + abbreviate(text.substring(start, pos)));
        }
        skipSpace();
        if (peek() == ',') {
          pos++;
        } else if (peek() != ')') {
          throw problem("expected ',' or ')' in the shape at character " + pos + ", found "
              + found());
        }
      }
    }

    private String string() throws NpyException {
      char quote = peek();
      if (quote != '\'' && quote != '"') {
        throw problem("expected a quoted key at character " + pos + ", found " + found());
      }
      int end = text.indexOf(quote, pos + 1);
      if (end < 0) {
        throw problem("expected a closing quote for the string at character " + pos);
      }
      String s = text.substring(pos + 1, end);
      if (s.indexOf('\\') >= 0) {
        throw problem("expected a plain string, found escapes in " + abbreviate(s));
      }
      pos = end + 1;
      return s;
    }

    private void validate(Map<String, Object> dict) throws NpyException {
      if (!dict.keySet().equals(java.util.Set.of("descr", "fortran_order", "shape"))) {
        throw problem("expected exactly the keys descr, fortran_order and shape, found "
            + dict.keySet());
      }
      if (!(dict.get("descr") instanceof String)) {
        throw problem("expected descr to be a string, found " + dict.get("descr"));
      }
      descr = (String) dict.get("descr");
      if (descr.length() == 3 && (descr.charAt(0) == '<' || descr.charAt(0) == '>'
          || descr.charAt(0) == '|')) {
        type = DESCR.get(descr.substring(1));
        order = descr.charAt(0) == '>' ? ByteOrder.BIG_ENDIAN : ByteOrder.LITTLE_ENDIAN;
      }
      if (type == null) {
        throw problem("expected descr to be one of <f2 <f4 <f8 |i1 <i2 <i4 <i8 |u1 |b1 (or"
            + " big-endian >), found '" + abbreviate(descr) + "'");
      }
      if (!(dict.get("fortran_order") instanceof Boolean)) {
        throw problem("expected fortran_order to be True or False, found "
            + dict.get("fortran_order"));
      }
      fortran = (Boolean) dict.get("fortran_order");
      if (!(dict.get("shape") instanceof List)) {
        throw problem("expected shape to be a tuple, found '" + dict.get("shape") + "'");
      }
      List<?> dims = (List<?>) dict.get("shape");
      if (dims.size() > SafeTensorsFile.MAX_RANK) {
        throw problem("expected a shape of rank at most " + SafeTensorsFile.MAX_RANK
            + ", found rank " + dims.size());
      }
      shape = new long[dims.size()];
      long elements = 1;
      try {
        for (int i = 0; i < shape.length; i++) {
          shape[i] = (Long) dims.get(i);
          elements = Math.multiplyExact(elements, shape[i]);
        }
        byteLength = Math.multiplyExact(elements, (long) type.width());
      } catch (ArithmeticException e) {
        throw problem("expected a shape whose byte size fits in 63 bits, found "
            + Arrays.toString(shape) + " of " + descr);
      }
    }

    private void expect(char c) throws NpyException {
      if (peek() != c) {
        throw problem("expected '" + c + "' at character " + pos + ", found " + found());
      }
      pos++;
    }

    private char peek() {
      return pos < text.length() ? text.charAt(pos) : '\0';
    }

    private void skipSpace() {
      while (pos < text.length() && Character.isWhitespace(text.charAt(pos))) {
        pos++;
      }
    }

    private String found() {
      return pos >= text.length() ? "the end of the header"
          : "'" + abbreviate(text.substring(pos, Math.min(text.length(), pos + 20))) + "'";
    }

    private static String abbreviate(String s) {
      return s.length() > 40 ? s.substring(0, 40) + "..." : s;
    }

    private NpyException problem(String message) {
      return fail(path, "header: " + message);
    }
  }
}
