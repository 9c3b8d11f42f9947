package io.github.stablerep.core.io;

import static io.github.stablerep.core.io.TestArrays.assertSameValues;
import static io.github.stablerep.core.io.TestArrays.resource;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

@SuppressWarnings("deprecation")
class NpyTest {

  private static final Path DIR = resource("golden/npy");
  /** Files numpy.save wrote from C-order little-endian arrays: our writer must match them. */
  private static final Set<String> WRITABLE_AS_IS = Set.of("f2_c", "f4_c", "f8_c", "i4_c",
      "i8_c", "u1_c", "b1_c", "f4_scalar", "f4_empty", "i8_1d");

  @TempDir
  Path tmp;

  static Stream<String> manifest() throws Exception {
    return Files.readAllLines(DIR.resolve("manifest.txt")).stream()
        .filter(l -> !l.startsWith("#") && !l.isBlank());
  }

  @ParameterizedTest
  @MethodSource("manifest")
  void readsWhatNumpyWrote(String line) throws Exception {
    String[] f = line.split(" ");
    String name = f[0];
    INDArray a = Npy.read(DIR.resolve(name + ".npy"));
    long[] shape = f[3].equals("scalar") ? new long[0]
        : Arrays.stream(f[3].split("x")).mapToLong(Long::parseLong).toArray();
    assertArrayEquals(shape, a.shape(), name);
    assertEquals('c', a.ordering(), name);
    String kind = f[1].substring(1);
    assertEquals(switch (kind) {
      case "f2" -> DataType.HALF;
      case "f4" -> DataType.FLOAT;
      case "f8" -> DataType.DOUBLE;
      case "i4" -> DataType.INT;
      case "i8" -> DataType.LONG;
      case "u1" -> DataType.UBYTE;
      case "b1" -> DataType.BOOL;
      default -> throw new AssertionError(kind);
    }, a.dataType(), name);
    if (f[4].equals("-")) {
      assertEquals(0, a.length());
      return;
    }
    String[] values = f[4].split(",");
    if (a.dataType().isFPType()) {
      assertArrayEquals(Arrays.stream(values).mapToDouble(Double::parseDouble).toArray(),
          TestArrays.doubles(a), name);
    } else {
      assertArrayEquals(Arrays.stream(values).mapToLong(Long::parseLong).toArray(),
          TestArrays.longs(a), name);
    }
  }

  @ParameterizedTest
  @MethodSource("manifest")
  void writesTheBytesNumpyWrites(String line) throws Exception {
    String name = line.split(" ")[0];
    Path golden = DIR.resolve(name + ".npy");
    INDArray a = Npy.read(golden);
    Path out = tmp.resolve(name + ".npy");
    Npy.write(out, a);
    assertSameValues(a, Npy.read(out));
    if (WRITABLE_AS_IS.contains(name)) {
      assertArrayEquals(Files.readAllBytes(golden), Files.readAllBytes(out), name);
    }
  }

  @Test
  void writesViewsInCOrderAndAtomically() throws Exception {
    INDArray c = Nd4j.arange(12).castTo(DataType.DOUBLE).reshape(3, 4);
    Path out = tmp.resolve("t.npy");
    Npy.write(out, c.transpose());
    assertSameValues(c.transpose(), Npy.read(out));
    Npy.write(out, c.dup('f'));
    assertSameValues(c, Npy.read(out));
    try (Stream<Path> s = Files.list(tmp)) {
      assertEquals(List.of(out), s.toList());
    }
    assertThrows(IllegalArgumentException.class,
        () -> Npy.write(tmp.resolve("bf.npy"), c.castTo(DataType.BFLOAT16)));
    assertTrue(Files.notExists(tmp.resolve("bf.npy")));
  }

  private NpyException reject(byte[] bytes, String... fragments) throws Exception {
    Path file = Files.write(tmp.resolve("bad.npy"), bytes);
    NpyException e = assertThrows(NpyException.class, () -> Npy.read(file));
    assertTrue(e.getMessage().startsWith(file.toString()), e.getMessage());
    for (String fr : fragments) {
      assertTrue(e.getMessage().contains(fr), "message lacks <" + fr + ">: " + e.getMessage());
    }
    return e;
  }

  private static byte[] npy(int major, long headerLength, String header, int dataBytes) {
    byte[] h = header.getBytes(StandardCharsets.ISO_8859_1);
    ByteBuffer b = ByteBuffer.allocate(12 + h.length + dataBytes).order(ByteOrder.LITTLE_ENDIAN);
    b.put(new byte[] {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y', (byte) major, 0});
    if (major == 1) {
      b.putShort((short) headerLength);
    } else {
      b.putInt((int) headerLength);
    }
    b.put(h).put(new byte[dataBytes]);
    return Arrays.copyOf(b.array(), b.position());
  }

  private static byte[] npy(String header, int dataBytes) {
    return npy(1, header.length(), header, dataBytes);
  }

  @Test
  void rejectsHostileHeaders() throws Exception {
    reject(new byte[] {1, 2, 3}, "at least 10 bytes");
    reject("NOTNUMPY\0\0\0\0".getBytes(StandardCharsets.ISO_8859_1), "magic");
    reject(npy(4, 2, "{}", 0), "version", "4.0");
    reject(npy(1, 60000, "{}", 0), "header length", "60000");
    reject(npy(2, 0xfffffff0L, "{}", 0), "header length", "4294967280");
    String ok = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }\n";
    reject(npy(ok, 20), "expected 24 data bytes", "found 20");
    reject(npy(ok, 28), "expected 24 data bytes", "found 28");
    reject(npy(ok.replace("<f4", "<c16"), 24), "descr", "<c16");
    reject(npy(ok.replace("<f4", "O"), 24), "descr");
    reject(npy(ok.replace("(2, 3)", "(2, -3)"), 24), "non-negative integer", "-3");
    reject(npy(ok.replace("(2, 3)", "(4294967296, 4294967296)"), 24), "63 bits");
    reject(npy(ok.replace("(2, 3)", "(99999999999999999999,)"), 24), "below 2^63");
    reject(npy(ok.replace("'shape': (2, 3), ", "'shape': (2, 3), 'shape': (2, 3), "), 24),
        "'shape' twice");
    reject(npy(ok.replace("'fortran_order': False, ", ""), 24), "exactly the keys");
    reject(npy(ok.replace("False", "0"), 24), "True, False");
    reject(npy(ok.replace("}", ""), 24), "header");
  }
}
