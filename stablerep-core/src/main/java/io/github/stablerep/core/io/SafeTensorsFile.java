package io.github.stablerep.core.io;

import static com.google.common.base.Preconditions.checkArgument;
import static com.google.common.base.Preconditions.checkNotNull;

import com.google.common.collect.ImmutableBiMap;
import com.google.common.collect.ImmutableMap;
import java.io.Closeable;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * An open safetensors file whose header has been read and validated, and whose tensors are
 * read only when asked for. Listing the tensors of a multi-gigabyte checkpoint therefore costs
 * one header read.
 *
 * <p>Obtain one with {@link SafeTensors#open(Path)}; close it when done (it holds a file
 * channel). Not thread-safe for concurrent {@link #close()}, but {@link #load(String)} may be
 * called from several threads.
 */
public final class SafeTensorsFile implements Closeable {

  /** The reference implementation's limit; it also bounds what a hostile prefix can make us allocate. */
  static final long MAX_HEADER_BYTES = 100_000_000L;
  /** Deeper JSON is never needed: the header is at most three levels deep. */
  private static final int MAX_JSON_DEPTH = 64;
  /** ND4J's rank limit. */
  static final int MAX_RANK = 32;
  static final String METADATA_KEY = "__metadata__";

  /**
   * Safetensors dtype names and the ND4J types they load as. The classic ND4J names are the
   * ones ND4J's own ops produce, although 1.0.0-M2 marks them deprecated; the newer names
   * (FLOAT16, INT32, ...) are aliases of the same constants.
   */
  @SuppressWarnings("deprecation")
  static final ImmutableBiMap<String, DataType> DTYPES = ImmutableBiMap.<String, DataType>builder()
      .put("BOOL", DataType.BOOL)
      .put("U8", DataType.UBYTE)
      .put("I8", DataType.BYTE)
      .put("I16", DataType.SHORT)
      .put("I32", DataType.INT)
      .put("I64", DataType.LONG)
      .put("F16", DataType.HALF)
      .put("BF16", DataType.BFLOAT16)
      .put("F32", DataType.FLOAT)
      .put("F64", DataType.DOUBLE)
      .build();

  /** Name, type, shape and location of one tensor, as declared by the header. */
  public static final class TensorInfo {
    private final String name;
    private final String dtype;
    private final DataType dataType;
    private final long[] shape;
    private final long fileOffset;
    private final long byteLength;

    TensorInfo(String name, String dtype, long[] shape, long fileOffset, long byteLength) {
      this.name = name;
      this.dtype = dtype;
      this.dataType = DTYPES.get(dtype);
      this.shape = shape;
      this.fileOffset = fileOffset;
      this.byteLength = byteLength;
    }

    public String name() {
      return name;
    }

    /** The safetensors dtype name, e.g. {@code "BF16"}. */
    public String dtype() {
      return dtype;
    }

    /** The ND4J type the tensor loads as. */
    public DataType dataType() {
      return dataType;
    }

    /** The shape; empty for a scalar. A fresh copy each call. */
    public long[] shape() {
      return shape.clone();
    }

    /** Absolute position of the tensor's first byte in the file. */
    public long fileOffset() {
      return fileOffset;
    }

    public long byteLength() {
      return byteLength;
    }

    @Override
    public String toString() {
      return name + ": " + dtype + Arrays.toString(shape);
    }
  }

  private final Path path;
  private final FileChannel channel;
  private final long fileSize;
  private final ImmutableMap<String, TensorInfo> tensors;
  private final ImmutableMap<String, String> metadata;

  private SafeTensorsFile(Path path, FileChannel channel, long fileSize,
      ImmutableMap<String, TensorInfo> tensors, ImmutableMap<String, String> metadata) {
    this.path = path;
    this.channel = channel;
    this.fileSize = fileSize;
    this.tensors = tensors;
    this.metadata = metadata;
  }

  static SafeTensorsFile open(Path path) throws IOException {
    checkNotNull(path, "path");
    if (java.nio.file.Files.isDirectory(path)) {
      // a folder opens as a channel on Linux and then fails to read with a bare "Is a directory"
      throw fail(path, null, "expected a safetensors file, found a folder");
    }
    FileChannel channel = FileChannel.open(path, StandardOpenOption.READ);
    try {
      long size = channel.size();
      Header header = readHeader(path, channel, size);
      return new SafeTensorsFile(path, channel, size, header.tensors, header.metadata);
    } catch (IOException | RuntimeException | Error e) {
      channel.close();
      throw e;
    }
  }

  public Path path() {
    return path;
  }

  /** Tensor names in the order the header lists them. */
  public Set<String> names() {
    return tensors.keySet();
  }

  /** All tensor descriptions, in header order. */
  public ImmutableMap<String, TensorInfo> tensors() {
    return tensors;
  }

  /** The header's {@code __metadata__} map; empty when the file has none. */
  public ImmutableMap<String, String> metadata() {
    return metadata;
  }

  public boolean contains(String name) {
    return tensors.containsKey(name);
  }

  /** @throws IllegalArgumentException if the file has no tensor called {@code name} */
  public TensorInfo info(String name) {
    TensorInfo info = tensors.get(checkNotNull(name, "name"));
    checkArgument(info != null, "%s has no tensor named \"%s\"", path, name);
    return info;
  }

  /**
   * Reads one tensor into a new C-order array of its ND4J type.
   *
   * @throws IllegalArgumentException if the file has no tensor called {@code name}
   * @throws SafeTensorsException if the file has been truncated since it was opened
   */
  public INDArray load(String name) throws IOException {
    TensorInfo info = info(name);
    // A mapping past the end of a file that shrank would fault on access, not throw.
    long size = channel.size();
    if (size < fileSize) {
      throw new SafeTensorsException(String.format(
          "%s: tensor \"%s\": expected the file to still be %d bytes long, found %d (it changed"
              + " after it was opened)", path, name, fileSize, size));
    }
    return NativeBytes.read(channel, info.fileOffset, info.byteLength, info.dataType,
        info.shape, 'c', ByteOrder.LITTLE_ENDIAN);
  }

  /** Reads every tensor, in header order, into an immutable map. */
  public ImmutableMap<String, INDArray> loadAll() throws IOException {
    ImmutableMap.Builder<String, INDArray> out = ImmutableMap.builderWithExpectedSize(tensors.size());
    for (String name : tensors.keySet()) {
      out.put(name, load(name));
    }
    return out.build();
  }

  @Override
  public void close() throws IOException {
    channel.close();
  }

  @Override
  public String toString() {
    return "SafeTensorsFile(" + path + ", " + tensors.size() + " tensors)";
  }

  // ---------------------------------------------------------------- header validation

  private static final class Header {
    final ImmutableMap<String, TensorInfo> tensors;
    final ImmutableMap<String, String> metadata;

    Header(ImmutableMap<String, TensorInfo> tensors, ImmutableMap<String, String> metadata) {
      this.tensors = tensors;
      this.metadata = metadata;
    }
  }

  private static Header readHeader(Path path, FileChannel channel, long size) throws IOException {
    if (size < 8) {
      throw fail(path, null, "expected at least 8 bytes (the header length), found a file of "
          + size + " bytes");
    }
    ByteBuffer prefix = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
    readFully(channel, prefix, 0);
    long headerLength = prefix.getLong(0);
    // Checked before allocating anything: the prefix is attacker-controlled. A negative value
    // is an unsigned length of 2^63 or more.
    if (headerLength < 0 || headerLength > MAX_HEADER_BYTES) {
      throw fail(path, null, "expected a header length of at most " + MAX_HEADER_BYTES
          + " bytes, found " + Long.toUnsignedString(headerLength));
    }
    if (headerLength > size - 8) {
      throw fail(path, null, "expected a header length of at most " + (size - 8)
          + " bytes (what follows the length in the file), found " + headerLength);
    }
    ByteBuffer raw = ByteBuffer.allocate((int) headerLength);
    readFully(channel, raw, 8);
    raw.flip();
    String text;
    try {
      text = StandardCharsets.UTF_8.newDecoder()
          .onMalformedInput(CodingErrorAction.REPORT)
          .onUnmappableCharacter(CodingErrorAction.REPORT)
          .decode(raw).toString();
    } catch (CharacterCodingException e) {
      throw fail(path, null, "expected a UTF-8 header, found invalid UTF-8", e);
    }
    Object json;
    try {
      json = StrictJson.parse(text, MAX_JSON_DEPTH);
    } catch (StrictJson.SyntaxException e) {
      throw fail(path, null, "expected a valid JSON header, found: " + e.getMessage(), e);
    }
    if (!(json instanceof Map)) {
      throw fail(path, null, "expected the header to be a JSON object, found "
          + StrictJson.typeName(json));
    }
    long dataStart = 8 + headerLength;
    long dataLength = size - dataStart;
    ImmutableMap<String, String> metadata = ImmutableMap.of();
    ImmutableMap.Builder<String, TensorInfo> tensors = ImmutableMap.builder();
    List<TensorInfo> byOffset = new ArrayList<>();
    for (Map.Entry<?, ?> e : ((Map<?, ?>) json).entrySet()) {
      String name = (String) e.getKey();
      if (name.equals(METADATA_KEY)) {
        metadata = parseMetadata(path, e.getValue());
        continue;
      }
      TensorInfo info = parseEntry(path, name, e.getValue(), dataStart, dataLength);
      tensors.put(name, info);
      byOffset.add(info);
    }
    checkCoverage(path, byOffset, dataStart, dataLength);
    return new Header(tensors.buildOrThrow(), metadata);
  }

  private static ImmutableMap<String, String> parseMetadata(Path path, Object value)
      throws SafeTensorsException {
    if (!(value instanceof Map)) {
      throw fail(path, null, "expected \"__metadata__\" to be an object of strings, found "
          + StrictJson.typeName(value));
    }
    ImmutableMap.Builder<String, String> out = ImmutableMap.builder();
    for (Map.Entry<?, ?> e : ((Map<?, ?>) value).entrySet()) {
      if (!(e.getValue() instanceof String)) {
        throw fail(path, null, "expected \"__metadata__\" value of \"" + e.getKey()
            + "\" to be a string, found " + StrictJson.typeName(e.getValue()));
      }
      out.put((String) e.getKey(), (String) e.getValue());
    }
    return out.buildOrThrow();
  }

  private static TensorInfo parseEntry(Path path, String name, Object value, long dataStart,
      long dataLength) throws SafeTensorsException {
    if (!(value instanceof Map)) {
      throw fail(path, name, "expected an object with dtype, shape and data_offsets, found "
          + StrictJson.typeName(value));
    }
    Map<?, ?> entry = (Map<?, ?>) value;
    for (Object key : entry.keySet()) {
      if (!key.equals("dtype") && !key.equals("shape") && !key.equals("data_offsets")) {
        throw fail(path, name, "expected only dtype, shape and data_offsets, found key \""
            + key + "\"");
      }
    }
    Object dtypeValue = require(path, name, entry, "dtype");
    if (!(dtypeValue instanceof String)) {
      throw fail(path, name, "expected dtype to be a string, found "
          + StrictJson.typeName(dtypeValue));
    }
    String dtype = (String) dtypeValue;
    DataType type = DTYPES.get(dtype);
    if (type == null) {
      throw fail(path, name, "expected dtype to be one of " + DTYPES.keySet() + ", found \""
          + dtype + "\"");
    }
    long[] shape = longArray(path, name, "shape", require(path, name, entry, "shape"), -1);
    if (shape.length > MAX_RANK) {
      throw fail(path, name, "expected a shape of rank at most " + MAX_RANK + ", found rank "
          + shape.length);
    }
    long[] offsets = longArray(path, name, "data_offsets",
        require(path, name, entry, "data_offsets"), 2);
    long elements = 1;
    long bytes;
    try {
      for (long d : shape) {
        elements = Math.multiplyExact(elements, d);
      }
      bytes = Math.multiplyExact(elements, (long) type.width());
    } catch (ArithmeticException e) {
      throw fail(path, name, "expected a shape whose byte size fits in 63 bits, found "
          + Arrays.toString(shape) + " of " + dtype);
    }
    long begin = offsets[0];
    long end = offsets[1];
    if (begin > end) {
      throw fail(path, name, "expected data_offsets begin <= end, found "
          + Arrays.toString(offsets));
    }
    if (end > dataLength) {
      throw fail(path, name, "expected data_offsets within the " + dataLength
          + "-byte data section, found " + Arrays.toString(offsets));
    }
    if (end - begin != bytes) {
      throw fail(path, name, "expected " + bytes + " bytes for shape " + Arrays.toString(shape)
          + " of " + dtype + ", found data_offsets " + Arrays.toString(offsets) + " spanning "
          + (end - begin));
    }
    return new TensorInfo(name, dtype, shape, dataStart + begin, bytes);
  }

  /** The data section must be tiled exactly: no gaps (hidden bytes), no overlaps (aliasing). */
  private static void checkCoverage(Path path, List<TensorInfo> infos, long dataStart,
      long dataLength) throws SafeTensorsException {
    infos.sort(Comparator.comparingLong((TensorInfo t) -> t.fileOffset)
        .thenComparingLong(t -> t.byteLength));
    long expected = dataStart;
    String previous = null;
    for (TensorInfo t : infos) {
      if (t.fileOffset > expected) {
        throw fail(path, t.name, "expected data to begin at offset " + (expected - dataStart)
            + (previous == null ? "" : ", where \"" + previous + "\" ends")
            + ", found a gap: it begins at " + (t.fileOffset - dataStart));
      }
      if (t.fileOffset < expected) {
        throw fail(path, t.name, "expected data to begin at offset " + (expected - dataStart)
            + ", where \"" + previous + "\" ends, found an overlap: it begins at "
            + (t.fileOffset - dataStart));
      }
      expected += t.byteLength;
      previous = t.name;
    }
    if (expected - dataStart != dataLength) {
      throw fail(path, null, "expected the tensors to cover the " + dataLength
          + "-byte data section, found " + (dataLength - (expected - dataStart))
          + " trailing bytes that belong to no tensor");
    }
  }

  private static Object require(Path path, String name, Map<?, ?> entry, String key)
      throws SafeTensorsException {
    Object v = entry.get(key);
    if (v == null) {
      throw fail(path, name, "expected key \"" + key + "\", found it missing");
    }
    return v;
  }

  /** A JSON array of non-negative integers; {@code length} -1 means any length. */
  private static long[] longArray(Path path, String name, String key, Object value, int length)
      throws SafeTensorsException {
    if (!(value instanceof List)) {
      throw fail(path, name, "expected " + key + " to be an array of integers, found "
          + StrictJson.typeName(value));
    }
    List<?> list = (List<?>) value;
    if (length >= 0 && list.size() != length) {
      throw fail(path, name, "expected " + key + " to have " + length + " entries, found "
          + list.size());
    }
    long[] out = new long[list.size()];
    for (int i = 0; i < out.length; i++) {
      Long v = StrictJson.exactLong(list.get(i));
      if (v == null || v < 0) {
        throw fail(path, name, "expected " + key + "[" + i + "] to be a non-negative 64-bit"
            + " integer, found " + describe(list.get(i)));
      }
      out[i] = v;
    }
    return out;
  }

  private static String describe(Object v) {
    String s = v instanceof java.math.BigDecimal ? ((java.math.BigDecimal) v).toString()
        : StrictJson.typeName(v);
    return s.length() > 40 ? s.substring(0, 40) + "..." : s;
  }

  private static void readFully(FileChannel channel, ByteBuffer buffer, long position)
      throws IOException {
    long p = position;
    while (buffer.hasRemaining()) {
      int n = channel.read(buffer, p);
      if (n < 0) {
        throw new SafeTensorsException("unexpected end of file at byte " + p);
      }
      p += n;
    }
  }

  static SafeTensorsException fail(Path path, String tensor, String problem) {
    return fail(path, tensor, problem, null);
  }

  static SafeTensorsException fail(Path path, String tensor, String problem, Throwable cause) {
    String where = tensor == null ? path + ": " : path + ": tensor \"" + tensor + "\": ";
    return new SafeTensorsException(where + problem, cause);
  }
}
