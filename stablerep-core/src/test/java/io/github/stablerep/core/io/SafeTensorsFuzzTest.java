package io.github.stablerep.core.io;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.lifecycle.AfterContainer;
import net.jqwik.api.lifecycle.BeforeContainer;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Valid files, mutated: the reader must either succeed or throw {@link SafeTensorsException};
 * any other throwable (OOM, IndexOutOfBounds, NegativeArraySize, a JVM fault...) fails.
 */
@SuppressWarnings("deprecation")
class SafeTensorsFuzzTest {

  private static final DataType[] TYPES = {DataType.HALF, DataType.BFLOAT16, DataType.FLOAT,
      DataType.DOUBLE, DataType.INT, DataType.LONG, DataType.UBYTE, DataType.BOOL, DataType.BYTE,
      DataType.SHORT};

  private static Path dir;

  @BeforeContainer
  static void createDir() throws IOException {
    dir = Files.createTempDirectory("safetensors-fuzz");
  }

  @AfterContainer
  static void deleteDir() throws IOException {
    try (Stream<Path> s = Files.walk(dir)) {
      s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    }
  }

  enum Mutation { FLIP_HEADER_BYTES, TRUNCATE, LENGTH_PREFIX, DUPLICATE_KEY, SHIFT_OFFSET,
    GARBAGE_DTYPE, CHANGE_SHAPE, FLIP_ANY_BYTE }

  @Property(tries = 300)
  void mutatedFilesLoadOrThrowSafeTensorsException(@ForAll("validFiles") byte[] valid,
      @ForAll Mutation mutation, @ForAll long seed) throws Exception {
    byte[] bytes = mutate(valid, mutation, new Random(seed));
    Path file = Files.write(dir.resolve("fuzz.safetensors"), bytes);
    try {
      Map<String, INDArray> read = SafeTensors.read(file);
      assertTrue(read.size() >= 0);
    } catch (SafeTensorsException expected) {
      assertTrue(expected.getMessage().startsWith(file.toString()), expected.getMessage());
    }
  }

  @Property(tries = 50)
  void validFilesRoundTrip(@ForAll("validFiles") byte[] valid) throws Exception {
    Path file = Files.write(dir.resolve("valid.safetensors"), valid);
    Map<String, INDArray> read = SafeTensors.read(file);
    Path again = dir.resolve("again.safetensors");
    SafeTensors.write(again, read, SafeTensors.metadata(file));
    assertTrue(Arrays.equals(valid, Files.readAllBytes(again)), "rewrite is byte-identical");
  }

  @Provide
  Arbitrary<byte[]> validFiles() {
    // Specs, not INDArrays: jqwik hashes generated values, and INDArray.hashCode runs a native
    // op that crashes the JVM for some types in ND4J 1.0.0-M2.1.
    Arbitrary<Spec> tensor = Combinators.combine(
        Arbitraries.of(TYPES),
        Arbitraries.longs().between(0, 4).array(long[].class).ofMinSize(0).ofMaxSize(3),
        Arbitraries.longs())
        .as(Spec::new);
    return Combinators.combine(
        tensor.list().ofMaxSize(4),
        Arbitraries.maps(Arbitraries.strings().alpha().ofMaxLength(5),
            Arbitraries.strings().ofMaxLength(8)).ofMaxSize(2))
        .as((tensors, meta) -> {
          Map<String, INDArray> m = new LinkedHashMap<>();
          for (int i = 0; i < tensors.size(); i++) {
            m.put("t" + i, tensors.get(i).build());
          }
          try {
            Path f = Files.createTempFile(dir, "valid", ".safetensors");
            SafeTensors.write(f, m, meta);
            byte[] b = Files.readAllBytes(f);
            Files.delete(f);
            return b;
          } catch (IOException e) {
            throw new UncheckedIOException(e);
          }
        });
  }

  /** A tensor to generate: its type, shape and the seed of its values. */
  record Spec(DataType type, long[] shape, long seed) {
    INDArray build() {
          Random r = new Random(seed);
          long length = Arrays.stream(shape).reduce(1, (x, y) -> x * y);
          if (length == 0) {
            return Nd4j.create(type, shape);
          }
          double[] values = new double[(int) length];
          boolean integral = r.nextBoolean();
          for (int i = 0; i < values.length; i++) {
            double v = r.nextDouble() * 200 - 100;
            values[i] = integral ? Math.rint(v) : v;
          }
          INDArray a = shape.length == 0 ? Nd4j.scalar(values[0])
              : Nd4j.createFromArray(values).reshape('c', shape);
      return a.castTo(type);
    }
  }

  static byte[] mutate(byte[] valid, Mutation mutation, Random r) {
    long n = ByteBuffer.wrap(valid).order(ByteOrder.LITTLE_ENDIAN).getLong(0);
    int headerEnd = (int) (8 + n);
    String header = new String(valid, 8, (int) n, StandardCharsets.UTF_8);
    byte[] data = Arrays.copyOfRange(valid, headerEnd, valid.length);
    byte[] out = valid.clone();
    switch (mutation) {
      case FLIP_HEADER_BYTES:
        for (int i = 1 + r.nextInt(4); i > 0; i--) {
          int at = 8 + r.nextInt(Math.max(1, headerEnd - 8));
          out[Math.min(at, out.length - 1)] ^= (byte) (1 << r.nextInt(8));
        }
        return out;
      case FLIP_ANY_BYTE:
        out[r.nextInt(out.length)] = (byte) r.nextInt(256);
        return out;
      case TRUNCATE:
        return Arrays.copyOf(valid, r.nextInt(valid.length));
      case LENGTH_PREFIX: {
        long[] choices = {Long.MIN_VALUE, -1, 1L << 40, Long.MAX_VALUE, 100_000_001,
            n + 1 + r.nextInt(64), Math.max(0, n - 1 - r.nextInt(8)), 0, r.nextLong()};
        ByteBuffer.wrap(out).order(ByteOrder.LITTLE_ENDIAN)
            .putLong(0, choices[r.nextInt(choices.length)]);
        return out;
      }
      case DUPLICATE_KEY:
        return rebuild(header.replaceFirst("\\{\"(t\\d+)\":(\\{[^}]*\\})",
            "{\"$1\":$2,\"$1\":$2"), data, r);
      case SHIFT_OFFSET:
        return rebuild(replaceNumber(header, "\"data_offsets\":\\[", r), data, r);
      case GARBAGE_DTYPE: {
        String[] garbage = {"F8_E5M2", "", "f32", "U64", "\\u0000", "F32\\\"", "BOOL "};
        return rebuild(header.replaceFirst("\"dtype\":\"[A-Z0-9]+\"",
            "\"dtype\":\"" + garbage[r.nextInt(garbage.length)] + "\""), data, r);
      }
      case CHANGE_SHAPE: {
        String[] shapes = {"[]", "[-1]", "[1.0]", "[0]", "[99999999999999999999]", "[3,3]",
            "[\"2\"]", "[4294967296,4294967296]", "null", "{}"};
        return rebuild(header.replaceFirst("\"shape\":\\[[^]]*\\]",
            "\"shape\":" + shapes[r.nextInt(shapes.length)]), data, r);
      }
      default:
        throw new AssertionError(mutation);
    }
  }

  private static String replaceNumber(String header, String after, Random r) {
    java.util.regex.Matcher m = java.util.regex.Pattern.compile(after + "(\\d+)").matcher(header);
    if (!m.find()) {
      return header;
    }
    long v = Long.parseLong(m.group(1)) + (r.nextBoolean() ? 1 : -1) * (1 + r.nextInt(8));
    return header.substring(0, m.start(1)) + v + header.substring(m.end(1));
  }

  /** Re-prefixes an edited header, mostly with its true length, sometimes with the old one. */
  private static byte[] rebuild(String header, byte[] data, Random r) {
    byte[] h = header.getBytes(StandardCharsets.UTF_8);
    long length = r.nextInt(8) == 0 ? h.length + r.nextInt(3) - 1 : h.length;
    return TestArrays.withPrefix(length, h, data);
  }

  @Property(tries = 20)
  void hugeClaimedHeaderLengthThrowsFast(@ForAll("hugeLengths") long claimed) throws Exception {
    Path file = Files.write(dir.resolve("huge.safetensors"),
        TestArrays.withPrefix(claimed, "{}".getBytes(StandardCharsets.UTF_8), new byte[0]));
    long start = System.nanoTime();
    try {
      SafeTensors.read(file);
      throw new AssertionError("accepted a header length of " + claimed);
    } catch (SafeTensorsException expected) {
      assertTrue(System.nanoTime() - start < 1_000_000_000L, "took over a second");
    }
  }

  @Provide
  Arbitrary<Long> hugeLengths() {
    return Arbitraries.oneOf(Arbitraries.of(1L << 40, Long.MAX_VALUE, Long.MIN_VALUE, -1L,
        100_000_001L), Arbitraries.longs().between(3, Long.MAX_VALUE),
        Arbitraries.longs().lessOrEqual(-1));
  }

}
