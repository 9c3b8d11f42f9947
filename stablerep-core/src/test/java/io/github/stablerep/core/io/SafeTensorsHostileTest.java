package io.github.stablerep.core.io;

import static io.github.stablerep.core.io.TestArrays.safetensors;
import static io.github.stablerep.core.io.TestArrays.withPrefix;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** One test per kind of malformed file; each checks that the message says what and where. */
class SafeTensorsHostileTest {

  @TempDir
  Path dir;

  private static final String GOOD_A = "\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}";

  private SafeTensorsException reject(byte[] bytes, String... fragments) throws Exception {
    Path file = Files.write(dir.resolve("bad.safetensors"), bytes);
    SafeTensorsException e = assertThrows(SafeTensorsException.class, () -> SafeTensors.read(file));
    String m = e.getMessage();
    assertTrue(m.startsWith(file.toString()), m);
    for (String f : fragments) {
      assertTrue(m.contains(f), "message lacks <" + f + ">: " + m);
    }
    return e;
  }

  private SafeTensorsException reject(String header, int dataBytes, String... fragments)
      throws Exception {
    return reject(safetensors(header, new byte[dataBytes]), fragments);
  }

  @Test
  void shorterThanEightBytes() throws Exception {
    reject(new byte[5], "at least 8 bytes", "5 bytes");
    reject(new byte[0], "at least 8 bytes");
  }

  @Test
  void headerLengthBeyondFileOrLimit() throws Exception {
    byte[] h = "{}".getBytes(StandardCharsets.UTF_8);
    reject(withPrefix(1000, h, new byte[0]), "1000");
    reject(withPrefix(200_000_000L, h, new byte[0]), "100000000", "200000000");
    reject(withPrefix(-1, h, new byte[0]), "18446744073709551615");
  }

  @Test
  void hugeHeaderLengthFailsFastWithoutAllocating() {
    assertTimeoutPreemptively(Duration.ofSeconds(2), () -> {
      reject(withPrefix(1L << 40, new byte[16], new byte[0]), "1099511627776");
    });
  }

  @Test
  void invalidUtf8AndInvalidJson() throws Exception {
    reject(withPrefix(4, new byte[] {'{', (byte) 0xC3, (byte) 0x28, '}'}, new byte[0]),
        "UTF-8");
    reject("{\"a\":", 0, "valid JSON");
    reject("{\"a\":{}}x", 0, "valid JSON", "after the JSON value");
    reject("[1,2]", 0, "JSON object", "an array");
    reject("[".repeat(100_000), 0, "nesting deeper");
  }

  @Test
  void entryOfTheWrongShape() throws Exception {
    reject("{\"a\":[1]}", 0, "tensor \"a\"", "an array");
    reject("{\"a\":{\"shape\":[],\"data_offsets\":[0,4]}}", 4, "tensor \"a\"", "\"dtype\"",
        "missing");
    reject("{\"a\":{\"dtype\":\"F32\",\"data_offsets\":[0,4]}}", 4, "\"shape\"", "missing");
    reject("{\"a\":{\"dtype\":\"F32\",\"shape\":[]}}", 4, "\"data_offsets\"", "missing");
    reject("{\"a\":{\"dtype\":7,\"shape\":[],\"data_offsets\":[0,4]}}", 4, "dtype",
        "a number");
    reject("{\"a\":{\"dtype\":\"F32\",\"shape\":\"2\",\"data_offsets\":[0,4]}}", 4, "shape",
        "a string");
    reject("{\"a\":{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[0,4,8]}}", 8,
        "data_offsets", "2 entries", "found 3");
    reject("{\"a\":{\"dtype\":\"F32\",\"shape\":[],\"data_offsets\":[0,4],\"x\":1}}", 4,
        "tensor \"a\"", "\"x\"");
  }

  @Test
  void unknownDtype() throws Exception {
    reject("{\"w\":{\"dtype\":\"F8_E4M3\",\"shape\":[1],\"data_offsets\":[0,1]}}", 1,
        "tensor \"w\"", "F8_E4M3", "BF16");
  }

  @Test
  void negativeOrNonIntegerDims() throws Exception {
    reject("{\"w\":{\"dtype\":\"U8\",\"shape\":[-1],\"data_offsets\":[0,0]}}", 0,
        "tensor \"w\"", "shape[0]", "non-negative", "-1");
    reject("{\"w\":{\"dtype\":\"U8\",\"shape\":[1.5],\"data_offsets\":[0,1]}}", 1,
        "shape[0]", "1.5");
    reject("{\"w\":{\"dtype\":\"U8\",\"shape\":[1e999999999],\"data_offsets\":[0,1]}}", 1,
        "shape[0]");
    reject("{\"w\":{\"dtype\":\"U8\",\"shape\":[99999999999999999999],\"data_offsets\":[0,1]}}",
        1, "shape[0]");
  }

  @Test
  void shapeProductOverflow() throws Exception {
    reject("{\"w\":{\"dtype\":\"F64\",\"shape\":[4294967296,4294967296],"
        + "\"data_offsets\":[0,8]}}", 8, "tensor \"w\"", "63 bits");
    reject("{\"w\":{\"dtype\":\"F64\",\"shape\":[2305843009213693952],"
        + "\"data_offsets\":[0,8]}}", 8, "tensor \"w\"", "63 bits");
  }

  @Test
  void shapeDoesNotMatchByteLength() throws Exception {
    reject("{\"w\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", 8,
        "tensor \"w\"", "expected 12 bytes", "spanning 8");
  }

  @Test
  void offsetsOutOfOrderOverlappingGappedOrPastTheEnd() throws Exception {
    reject("{\"w\":{\"dtype\":\"U8\",\"shape\":[0],\"data_offsets\":[4,0]}}", 4,
        "tensor \"w\"", "begin <= end", "[4, 0]");
    reject("{" + GOOD_A + ",\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}",
        12, "tensor \"b\"", "overlap", "\"a\"");
    reject("{" + GOOD_A + ",\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[12,16]}}",
        16, "tensor \"b\"", "gap", "begins at 12");
    reject("{" + GOOD_A + "}", 4, "tensor \"a\"", "4-byte data section", "[0, 8]");
    reject("{" + GOOD_A + "}", 12, "cover", "4 trailing bytes");
    reject("{\"a\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[2,3]}}", 3,
        "tensor \"a\"", "gap");
  }

  @Test
  void duplicateNamesInTheJsonText() throws Exception {
    reject("{" + GOOD_A + "," + GOOD_A + "}", 8, "duplicate key \"a\"");
    reject("{\"__metadata__\":{\"k\":\"v\",\"k\":\"w\"}," + GOOD_A + "}", 8, "duplicate key \"k\"");
  }

  @Test
  void metadataThatIsNotAStringMap() throws Exception {
    reject("{\"__metadata__\":[\"x\"]," + GOOD_A + "}", 8, "__metadata__", "an array");
    reject("{\"__metadata__\":{\"epoch\":3}," + GOOD_A + "}", 8, "__metadata__", "\"epoch\"",
        "a number");
    reject("{\"__metadata__\":{\"k\":null}," + GOOD_A + "}", 8, "\"k\"", "null");
  }

  @Test
  void truncatedAfterOpenIsReportedNotFaulted() throws Exception {
    Path file = Files.write(dir.resolve("t.safetensors"), safetensors("{" + GOOD_A + "}",
        new byte[8]));
    try (SafeTensorsFile f = SafeTensors.open(file)) {
      try (java.nio.channels.FileChannel ch = java.nio.channels.FileChannel.open(file,
          java.nio.file.StandardOpenOption.WRITE)) {
        ch.truncate(10);
      }
      SafeTensorsException e = assertThrows(SafeTensorsException.class, () -> f.load("a"));
      assertTrue(e.getMessage().contains("tensor \"a\""), e.getMessage());
    }
  }
}
