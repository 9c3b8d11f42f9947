package io.github.stablerep.core.io;

import static io.github.stablerep.core.io.TestArrays.assertSameValues;
import static io.github.stablerep.core.io.TestArrays.resource;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/** Reads the file written by tools/reference/safetensors_reference.py and checks every value. */
@SuppressWarnings("deprecation")
class SafeTensorsReferenceTest {

  private static final Path DIR = resource("golden/safetensors");
  private static final Path FILE = DIR.resolve("reference.safetensors");

  @Test
  void readsEveryDtypeExactly() throws Exception {
    Map<String, INDArray> tensors = SafeTensors.read(FILE);
    assertEquals(List.of("f16", "bf16", "f32", "f64", "i32", "i64", "u8", "bool", "scalar",
        "empty"), List.copyOf(tensors.keySet()), "header order");
    Map<String, DataType> types = Map.of("f16", DataType.HALF, "bf16", DataType.BFLOAT16,
        "f32", DataType.FLOAT, "f64", DataType.DOUBLE, "i32", DataType.INT, "i64", DataType.LONG,
        "u8", DataType.UBYTE, "bool", DataType.BOOL, "scalar", DataType.FLOAT, "empty",
        DataType.FLOAT);
    for (Map.Entry<String, INDArray> e : tensors.entrySet()) {
      INDArray expected = Npy.read(DIR.resolve(e.getKey() + ".npy"));
      assertEquals(types.get(e.getKey()), e.getValue().dataType(), e.getKey());
      assertSameValues(expected, e.getValue());
    }
    assertEquals(0, tensors.get("scalar").rank());
    assertEquals(3.25, tensors.get("scalar").getDouble(0));
    assertArrayEquals(new long[] {0, 4}, tensors.get("empty").shape());
    assertEquals(Long.MIN_VALUE, tensors.get("i64").getLong(0));
    assertEquals(Long.MAX_VALUE, tensors.get("i64").getLong(2));
  }

  @Test
  void metadataAndLazyHandle() throws Exception {
    assertEquals(Map.of("format", "pt", "source", "safetensors_reference.py", "unicode",
        "\u00e9\u4e2d"), SafeTensors.metadata(FILE));
    try (SafeTensorsFile file = SafeTensors.open(FILE)) {
      assertEquals(10, file.names().size());
      SafeTensorsFile.TensorInfo bf16 = file.info("bf16");
      assertEquals("BF16", bf16.dtype());
      assertEquals(DataType.BFLOAT16, bf16.dataType());
      assertArrayEquals(new long[] {2, 3}, bf16.shape());
      assertEquals(12, bf16.byteLength());
      assertSameValues(Npy.read(DIR.resolve("u8.npy")), file.load("u8"));
    }
  }
}
