package io.github.stablerep.core.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.Paths;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/** Helpers shared by the io tests. */
final class TestArrays {
  private TestArrays() {}

  static Path resource(String name) {
    try {
      return Paths.get(TestArrays.class.getResource("/" + name).toURI());
    } catch (URISyntaxException e) {
      throw new IllegalStateException(e);
    }
  }

  /** Exact comparison: same shape and bit-identical values (so -0.0 != 0.0), any dtype pair. */
  static void assertSameValues(INDArray expected, INDArray actual) {
    assertArrayEquals(expected.shape(), actual.shape(), "shape");
    if (expected.length() == 0) {
      return;
    }
    if (expected.dataType().isFPType() || actual.dataType().isFPType()) {
      assertArrayEquals(doubles(expected), doubles(actual));
    } else {
      assertArrayEquals(longs(expected), longs(actual));
    }
  }

  static double[] doubles(INDArray a) {
    return a.castTo(DataType.DOUBLE).dup('c').data().asDouble();
  }

  static long[] longs(INDArray a) {
    INDArray x = a.dataType() == DataType.BOOL ? a.castTo(DataType.INT) : a;
    return x.castTo(DataType.LONG).dup('c').data().asLong();
  }

  /** A safetensors file from a header string and data bytes, with the correct length prefix. */
  static byte[] safetensors(String header, byte[] data) {
    byte[] h = header.getBytes(StandardCharsets.UTF_8);
    return withPrefix(h.length, h, data);
  }

  static byte[] withPrefix(long headerLength, byte[] header, byte[] data) {
    ByteBuffer b = ByteBuffer.allocate(8 + header.length + data.length)
        .order(ByteOrder.LITTLE_ENDIAN);
    b.putLong(headerLength).put(header).put(data);
    return b.array();
  }

  static void assertDataType(DataType expected, INDArray actual) {
    assertEquals(expected, actual.dataType());
  }

}
