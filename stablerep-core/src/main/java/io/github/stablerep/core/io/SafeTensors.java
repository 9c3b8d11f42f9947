package io.github.stablerep.core.io;

import static com.google.common.base.Preconditions.checkArgument;
import static com.google.common.base.Preconditions.checkNotNull;

import com.google.common.collect.ImmutableMap;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Map;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Reads and writes the <a href="https://github.com/huggingface/safetensors">safetensors</a>
 * format, the weight format of Hugging Face checkpoints (diffusers, timm, transformers).
 *
 * <p>The format: an 8-byte little-endian unsigned header length N, then N bytes of UTF-8 JSON,
 * then the data section. The JSON object maps each tensor name to
 * {@code {"dtype": "F32", "shape": [2, 3], "data_offsets": [begin, end]}} with offsets relative
 * to the data section, plus an optional {@code "__metadata__"} object of string to string.
 * Tensor data is little-endian, C order, and packed without gaps.
 *
 * <p>Data types and the ND4J types they load as: F16 ({@code HALF}), BF16 ({@code BFLOAT16}),
 * F32 ({@code FLOAT}), F64 ({@code DOUBLE}), I8 ({@code BYTE}), I16 ({@code SHORT}),
 * I32 ({@code INT}), I64 ({@code LONG}), U8 ({@code UBYTE}) and BOOL ({@code BOOL}).
 *
 * <p>Reading is strict, because checkpoints are downloaded from strangers: the header length is
 * bounded (100 MB, and the file size) before anything is allocated; the header must be valid
 * UTF-8 JSON with no duplicate keys; every entry must have exactly a known dtype, a shape of
 * non-negative integers whose byte size does not overflow and matches its offsets, and offsets
 * inside the data section; together the tensors must cover the data section exactly, with no
 * gaps or overlaps; {@code __metadata__} must map strings to strings. Any violation throws
 * {@link SafeTensorsException}, whose message names the file, the tensor, what was expected and
 * what was found. Tensor data is read through memory mapping, one tensor at a time.
 *
 * <p>Writing is atomic: a temporary file in the target's directory is written, synced and
 * renamed over the target, so a failure never leaves a partial file behind.
 */
public final class SafeTensors {

  private SafeTensors() {}

  /**
   * Reads every tensor of a file, in header order.
   *
   * @return an immutable map that iterates in the order the header lists the tensors
   * @throws SafeTensorsException if the file is malformed
   * @throws IOException if it cannot be read
   */
  public static Map<String, INDArray> read(Path path) throws IOException {
    try (SafeTensorsFile file = SafeTensorsFile.open(path)) {
      return file.loadAll();
    }
  }

  /**
   * Opens a file and validates its header without reading tensor data. Close the result.
   *
   * @throws SafeTensorsException if the header is malformed
   * @throws IOException if the file cannot be read
   */
  public static SafeTensorsFile open(Path path) throws IOException {
    return SafeTensorsFile.open(path);
  }

  /**
   * The file's {@code __metadata__} map (empty when absent), reading only the header.
   *
   * @throws SafeTensorsException if the header is malformed
   */
  public static Map<String, String> metadata(Path path) throws IOException {
    try (SafeTensorsFile file = SafeTensorsFile.open(path)) {
      return file.metadata();
    }
  }

  /** Writes tensors without metadata; see {@link #write(Path, Map, Map)}. */
  public static void write(Path path, Map<String, INDArray> tensors) throws IOException {
    write(path, tensors, ImmutableMap.of());
  }

  /**
   * Writes tensors in the map's iteration order, each in C order whatever its ordering or view
   * status, with the header padded with spaces to a multiple of 8 bytes as the reference
   * implementation does. The {@code __metadata__} entry is written only when
   * {@code metadata} is not empty.
   *
   * <p>Atomic: the target is replaced only once the complete file is on disk.
   *
   * @throws IllegalArgumentException if a name is {@code "__metadata__"} or an array's data
   *     type has no safetensors equivalent
   * @throws IOException if writing fails; an existing target is then left untouched
   */
  public static void write(Path path, Map<String, INDArray> tensors, Map<String, String> metadata)
      throws IOException {
    checkNotNull(path, "path");
    checkNotNull(tensors, "tensors");
    checkNotNull(metadata, "metadata");
    byte[] header = header(tensors, metadata);
    AtomicFiles.write(path, channel -> {
      ByteBuffer prefix = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
      prefix.putLong(header.length).flip();
      ByteBuffer all = ByteBuffer.allocate(8 + header.length);
      all.put(prefix).put(header).flip();
      while (all.hasRemaining()) {
        channel.write(all);
      }
      for (INDArray array : tensors.values()) {
        NativeBytes.writeLittleEndian(array, channel);
      }
    });
  }

  /** Builds the padded header, validating every argument before any file is touched. */
  private static byte[] header(Map<String, INDArray> tensors, Map<String, String> metadata) {
    StringBuilder json = new StringBuilder("{");
    if (!metadata.isEmpty()) {
      json.append('"').append(SafeTensorsFile.METADATA_KEY).append("\":{");
      boolean first = true;
      for (Map.Entry<String, String> e : metadata.entrySet()) {
        checkNotNull(e.getKey(), "metadata key");
        checkNotNull(e.getValue(), "metadata value for key \"%s\"", e.getKey());
        json.append(first ? "" : ",");
        appendString(json, e.getKey()).append(':');
        appendString(json, e.getValue());
        first = false;
      }
      json.append('}');
    }
    long offset = 0;
    for (Map.Entry<String, INDArray> e : tensors.entrySet()) {
      String name = checkNotNull(e.getKey(), "tensor name");
      INDArray array = checkNotNull(e.getValue(), "tensor \"%s\"", name);
      checkArgument(!name.equals(SafeTensorsFile.METADATA_KEY),
          "tensor name \"%s\" is reserved for metadata", name);
      String dtype = SafeTensorsFile.DTYPES.inverse().get(array.dataType());
      checkArgument(dtype != null, "tensor \"%s\" has data type %s; safetensors supports %s",
          name, array.dataType(), SafeTensorsFile.DTYPES.values());
      long[] shape = array.shape();
      long bytes = Math.multiplyExact(array.length(), (long) array.dataType().width());
      if (json.length() > 1) {
        json.append(',');
      }
      appendString(json, name).append(":{\"dtype\":\"").append(dtype).append("\",\"shape\":[");
      for (int i = 0; i < shape.length; i++) {
        json.append(i == 0 ? "" : ",").append(shape[i]);
      }
      json.append("],\"data_offsets\":[").append(offset).append(',').append(offset + bytes)
          .append("]}");
      offset += bytes;
    }
    json.append('}');
    byte[] utf8 = json.toString().getBytes(StandardCharsets.UTF_8);
    int padded = (utf8.length + 7) / 8 * 8;
    byte[] out = new byte[padded];
    System.arraycopy(utf8, 0, out, 0, utf8.length);
    for (int i = utf8.length; i < padded; i++) {
      out[i] = ' ';
    }
    return out;
  }

  private static StringBuilder appendString(StringBuilder sb, String s) {
    return sb.append(StrictJson.quote(s));
  }
}
