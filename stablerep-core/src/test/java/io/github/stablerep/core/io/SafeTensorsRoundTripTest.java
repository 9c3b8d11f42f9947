package io.github.stablerep.core.io;

import static io.github.stablerep.core.io.TestArrays.assertSameValues;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.common.collect.ImmutableMap;
import java.io.IOException;
import java.lang.reflect.Proxy;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

@SuppressWarnings("deprecation")
class SafeTensorsRoundTripTest {

  @TempDir
  Path dir;

  static Map<String, INDArray> everyDtype() {
    INDArray base = Nd4j.createFromArray(new double[] {-2.5, -0.0, 0.0, 1.0, 3.75, 100.0})
        .reshape(2, 3);
    Map<String, INDArray> m = new LinkedHashMap<>();
    m.put("f16", base.castTo(DataType.HALF));
    m.put("bf16", base.castTo(DataType.BFLOAT16));
    m.put("f32", base.castTo(DataType.FLOAT).mul(1.1));
    m.put("f64", base.mul(Math.PI));
    m.put("i8", Nd4j.createFromArray(new byte[] {-128, 0, 127}));
    m.put("i16", Nd4j.createFromArray(new short[] {-32768, 1, 32767}));
    m.put("i32", Nd4j.createFromArray(Integer.MIN_VALUE, -1, Integer.MAX_VALUE));
    m.put("i64", Nd4j.createFromArray(Long.MIN_VALUE, 1L << 53 | 1, Long.MAX_VALUE));
    m.put("u8", Nd4j.createFromArray(new byte[] {0, 1, (byte) 200, (byte) 255})
        .castTo(DataType.UBYTE));
    m.put("u8raw", Nd4j.create(DataType.UBYTE, 2, 2).assign(255));
    m.put("bool", Nd4j.createFromArray(true, false, true));
    m.put("scalar", Nd4j.scalar(7.5f));
    m.put("empty", Nd4j.create(DataType.FLOAT, 0, 4));
    m.put("emptyLong", Nd4j.create(DataType.LONG, 3, 0));
    return m;
  }

  @Test
  void roundTripsEveryDtypeAndMetadata() throws Exception {
    Map<String, INDArray> in = everyDtype();
    Path file = dir.resolve("all.safetensors");
    Map<String, String> meta = ImmutableMap.of("format", "pt", "quote\"and\\", "\u00e9\n");
    SafeTensors.write(file, in, meta);
    Map<String, INDArray> out = SafeTensors.read(file);
    assertEquals(List.copyOf(in.keySet()), List.copyOf(out.keySet()));
    for (String name : in.keySet()) {
      assertEquals(in.get(name).dataType(), out.get(name).dataType(), name);
      assertSameValues(in.get(name), out.get(name));
    }
    assertEquals(255, out.get("u8").getInt(3));
    assertEquals(meta, SafeTensors.metadata(file));
    assertEquals(Map.of(), SafeTensors.metadata(writeEmpty()));
  }

  private Path writeEmpty() throws IOException {
    Path f = dir.resolve("empty.safetensors");
    SafeTensors.write(f, Map.of());
    assertEquals(Map.of(), SafeTensors.read(f));
    return f;
  }

  @Test
  void writesViewsAndFortranOrderInCOrder() throws Exception {
    INDArray c = Nd4j.arange(24).castTo(DataType.FLOAT).reshape(4, 6);
    INDArray view = c.get(NDArrayIndex.interval(1, 3), NDArrayIndex.interval(2, 5));
    INDArray transposed = c.transpose();
    INDArray fortran = c.dup('f');
    INDArray strided = c.get(NDArrayIndex.all(), NDArrayIndex.interval(0, 2, 6));
    Map<String, INDArray> in = ImmutableMap.of("view", view, "t", transposed, "f", fortran,
        "strided", strided);
    Path file = dir.resolve("views.safetensors");
    SafeTensors.write(file, in);
    Map<String, INDArray> out = SafeTensors.read(file);
    assertArrayEquals(new double[] {8, 9, 10, 14, 15, 16}, TestArrays.doubles(out.get("view")));
    assertArrayEquals(new long[] {6, 4}, out.get("t").shape());
    assertEquals(6.0, out.get("t").getDouble(0, 1));
    assertSameValues(transposed, out.get("t"));
    assertSameValues(c, out.get("f"));
    assertArrayEquals(new double[] {0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22},
        TestArrays.doubles(out.get("strided")));
  }

  @Test
  void layoutMatchesTheReferenceImplementation() throws Exception {
    Path file = dir.resolve("layout.safetensors");
    SafeTensors.write(file, everyDtype(), Map.of("k", "v"));
    byte[] bytes = Files.readAllBytes(file);
    long n = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).getLong(0);
    assertEquals(0, n % 8, "header padded to a multiple of 8");
    String header = new String(bytes, 8, (int) n, StandardCharsets.UTF_8);
    assertTrue(header.startsWith("{\"__metadata__\":{\"k\":\"v\"}"), header);
    assertTrue(header.stripTrailing().endsWith("}"), header);
    assertTrue(header.substring(header.stripTrailing().length()).chars().allMatch(c -> c == ' '));
    @SuppressWarnings("unchecked")
    Map<String, Object> json = (Map<String, Object>) StrictJson.parse(header, 10);
    long expected = 0;
    for (Map.Entry<String, Object> e : json.entrySet()) {
      if (e.getKey().equals("__metadata__")) {
        continue;
      }
      List<?> offsets = (List<?>) ((Map<?, ?>) e.getValue()).get("data_offsets");
      assertEquals(expected, StrictJson.exactLong(offsets.get(0)), e.getKey());
      expected = StrictJson.exactLong(offsets.get(1));
    }
    assertEquals(bytes.length - 8 - n, expected, "data section exactly covered");
  }

  @Test
  void lazyHandleListsWithoutLoading() throws Exception {
    Path file = dir.resolve("lazy.safetensors");
    SafeTensors.write(file, everyDtype());
    try (SafeTensorsFile f = SafeTensors.open(file)) {
      assertEquals(everyDtype().keySet(), f.names());
      assertEquals("I64", f.info("i64").dtype());
      assertThrows(IllegalArgumentException.class, () -> f.info("nope"));
      assertSameValues(everyDtype().get("f64"), f.load("f64"));
    }
  }

  @Test
  void atomicWriteLeavesNoTempFileAndReplaces() throws Exception {
    Path file = dir.resolve("a.safetensors");
    SafeTensors.write(file, ImmutableMap.of("x", Nd4j.createFromArray(1f, 2f)));
    SafeTensors.write(file, ImmutableMap.of("y", Nd4j.createFromArray(3.0)));
    assertEquals(List.of("y"), List.copyOf(SafeTensors.read(file).keySet()));
    try (Stream<Path> s = Files.list(dir)) {
      assertEquals(List.of(file), s.toList());
    }
  }

  @Test
  void failedWriteKeepsTheOldFileAndRemovesTheTempFile() throws Exception {
    Path file = dir.resolve("keep.safetensors");
    SafeTensors.write(file, ImmutableMap.of("x", Nd4j.createFromArray(1f, 2f)));
    byte[] before = Files.readAllBytes(file);
    Map<String, INDArray> bad = new LinkedHashMap<>();
    bad.put("ok", Nd4j.createFromArray(5f, 6f, 7f));
    bad.put("broken", failingArray());
    assertThrows(IllegalStateException.class, () -> SafeTensors.write(file, bad));
    assertArrayEquals(before, Files.readAllBytes(file));
    try (Stream<Path> s = Files.list(dir)) {
      assertEquals(List.of(file), s.toList());
    }
  }

  @Test
  void rejectsUnwritableArguments() {
    Path file = dir.resolve("bad.safetensors");
    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
        () -> SafeTensors.write(file, ImmutableMap.of("u16", Nd4j.create(DataType.UINT16, 2))));
    assertTrue(e.getMessage().contains("u16") && e.getMessage().contains("UINT16"),
        e.getMessage());
    assertThrows(IllegalArgumentException.class, () -> SafeTensors.write(file,
        ImmutableMap.of("__metadata__", Nd4j.createFromArray(1f))));
    assertTrue(Files.notExists(file));
  }

  /** An array that describes itself as FLOAT [2] but fails once its data is needed. */
  private static INDArray failingArray() {
    return (INDArray) Proxy.newProxyInstance(INDArray.class.getClassLoader(),
        new Class<?>[] {INDArray.class}, (proxy, method, args) -> {
          switch (method.getName()) {
            case "dataType":
              return DataType.FLOAT;
            case "shape":
              return new long[] {2};
            case "length":
              return 2L;
            case "rank":
              return 2;
            case "isEmpty":
            case "isView":
              return false;
            case "ordering":
              return 'c';
            default:
              throw new IllegalStateException("simulated failure in " + method.getName());
          }
        });
  }
}
