package io.github.stablerep.augment;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.zip.CRC32;
import java.util.zip.Deflater;

/**
 * PNG files built byte by byte, for tests that need files no encoder writes (bombs, lying
 * headers, broken chunks). Shared with stablerep-eval's hostile corpus through the test jar.
 */
public final class PngBytes {
  private PngBytes() {}

  /** The eight bytes every PNG starts with. */
  public static final byte[] SIGNATURE = {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};

  /** The parts one after another. */
  public static byte[] concat(byte[]... parts) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    for (byte[] p : parts) {
      out.writeBytes(p);
    }
    return out.toByteArray();
  }

  /** A chunk: length, type, data, CRC over type and data. */
  public static byte[] chunk(String type, byte[] data) {
    ByteBuffer b = ByteBuffer.allocate(12 + data.length);
    b.putInt(data.length).put(type.getBytes(StandardCharsets.ISO_8859_1)).put(data);
    CRC32 crc = new CRC32();
    crc.update(b.array(), 4, 4 + data.length);
    return b.putInt((int) crc.getValue()).array();
  }

  /** An IHDR chunk of an 8-bit RGB image of the given (declared) size. */
  public static byte[] ihdr(int width, int height) {
    return chunk("IHDR", ByteBuffer.allocate(13).putInt(width).putInt(height).put((byte) 8).put((byte) 2)
        .put((byte) 0).put((byte) 0).put((byte) 0).array());
  }

  /** {@code data} zlib-compressed at level 9, as an IDAT or a compressed text chunk holds it. */
  public static byte[] deflate(byte[] data) {
    Deflater d = new Deflater(9);
    d.setInput(data);
    d.finish();
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    byte[] buf = new byte[1 << 16];
    while (!d.finished()) {
      out.write(buf, 0, d.deflate(buf));
    }
    d.end();
    return out.toByteArray();
  }
}
