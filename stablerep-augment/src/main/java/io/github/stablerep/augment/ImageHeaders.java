package io.github.stablerep.augment;

import java.nio.charset.StandardCharsets;
import java.util.zip.DataFormatException;
import java.util.zip.Inflater;

/**
 * Checks what an image file declares against its own length and against {@link ImageLimits},
 * before any decoder sees it. Decoders trust their headers: Commons Imaging allocates a PNG
 * chunk's declared length (2^30 from a 656-byte file) before reading it, inflates metadata in
 * full, and the JDK's GIF reader allocates the declared frame (16384 × 16384 from 627 bytes).
 * Formats without a walker here (JPEG, TIFF) have their dimensions checked by {@link Images}
 * through the decoder's own header parse, which allocates nothing in proportion to them.
 */
final class ImageHeaders {

  private static final byte[] PNG_SIGNATURE = {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};

  private ImageHeaders() {}

  /** Checks {@code b} if it is PNG, GIF or BMP; other formats pass unchanged. */
  static void check(byte[] b, String name, ImageLimits limits) throws ImageDecodeException {
    if (startsWith(b, PNG_SIGNATURE)) {
      checkPng(b, name, limits);
    } else if (b.length >= 6 && (startsWith(b, "GIF87a".getBytes(StandardCharsets.US_ASCII))
        || startsWith(b, "GIF89a".getBytes(StandardCharsets.US_ASCII)))) {
      checkGif(b, name, limits);
    } else if (b.length >= 2 && b[0] == 'B' && b[1] == 'M') {
      checkBmp(b, name);
    }
  }

  /** Refuses an image of {@code width × height} beyond the limit, or not positive. */
  static void checkDimensions(long width, long height, String name, ImageLimits limits) throws ImageDecodeException {
    if (width < 1 || height < 1 || width * height > limits.maxPixels()) {
      throw new ImageDecodeException(name + ": expected dimensions with 1 to " + limits.maxPixels()
          + " pixels (ImageLimits.maxPixels), found " + width + "x" + height);
    }
  }

  // ---------------------------------------------------------------- PNG

  /**
   * Walks the chunks: every declared length must fit in what remains of the file, IHDR must come
   * first with dimensions within the limit, and compressed metadata must inflate within {@link
   * ImageLimits#maxMetadataBytes()}. Stops at IEND or at a truncation (the decoder reports that).
   */
  private static void checkPng(byte[] b, String name, ImageLimits limits) throws ImageDecodeException {
    int pos = PNG_SIGNATURE.length;
    boolean first = true;
    while (pos + 8 <= b.length) {
      long length = u32be(b, pos);
      String type = new String(b, pos + 4, 4, StandardCharsets.ISO_8859_1);
      long remaining = b.length - (pos + 8L);
      if (length > remaining) {
        throw new ImageDecodeException(name + ": PNG chunk '" + printable(type) + "' at offset " + pos
            + ": expected a length within the " + remaining + " bytes left in the file, found " + length);
      }
      int data = pos + 8;
      if (first) {
        if (!type.equals("IHDR") || length < 8) {
          throw new ImageDecodeException(name + ": expected the PNG to start with an IHDR chunk, found '"
              + printable(type) + "' of " + length + " bytes");
        }
        checkDimensions(u32be(b, data), u32be(b, data + 4), name, limits);
        first = false;
      }
      switch (type) {
        case "iCCP", "zTXt" -> checkInflated(b, afterKeyword(b, data, (int) length) + 1, data + (int) length,
            type, name, limits);
        case "iTXt" -> {
          int flag = afterKeyword(b, data, (int) length);
          if (flag < data + length && b[flag] == 1) {
            // compression flag, method, then language tag and translated keyword, each NUL-ended
            int text = skipNul(b, skipNul(b, flag + 2, data + (int) length), data + (int) length);
            checkInflated(b, text, data + (int) length, type, name, limits);
          }
        }
        case "IEND" -> {
          return;
        }
        default -> { }
      }
      pos = data + (int) length + 4; // + CRC
    }
  }

  /** The index after the NUL that ends the chunk's keyword (or the chunk's end). */
  private static int afterKeyword(byte[] b, int from, int length) {
    return skipNul(b, from, from + length);
  }

  private static int skipNul(byte[] b, int from, int end) {
    int i = from;
    while (i < end && b[i] != 0) {
      i++;
    }
    return Math.min(i + 1, end);
  }

  /** Inflates {@code b[from, to)} into a small scratch buffer, counting, up to the limit. */
  private static void checkInflated(byte[] b, int from, int to, String type, String name, ImageLimits limits)
      throws ImageDecodeException {
    if (from >= to) {
      return;
    }
    Inflater inflater = new Inflater();
    try {
      inflater.setInput(b, from, to - from);
      byte[] scratch = new byte[64 << 10];
      long total = 0;
      while (!inflater.finished() && !inflater.needsInput() && !inflater.needsDictionary()) {
        int n = inflater.inflate(scratch);
        total += n;
        if (total > limits.maxMetadataBytes()) {
          throw new ImageDecodeException(name + ": PNG chunk '" + type + "': expected compressed metadata"
              + " of at most " + limits.maxMetadataBytes() + " bytes inflated (ImageLimits.maxMetadataBytes),"
              + " found more (" + (to - from) + " compressed bytes)");
        }
        if (n == 0 && !inflater.finished() && !inflater.needsInput()) {
          break; // no progress: corrupt stream, the decoder reports it
        }
      }
    } catch (DataFormatException e) {
      // corrupt metadata: the decoder decides whether that matters
    } finally {
      inflater.end();
    }
  }

  // ---------------------------------------------------------------- GIF

  /**
   * The logical screen and every frame descriptor must be within the pixel limit (decoders
   * allocate the frame, and some the screen it is placed on); the walk follows the block
   * structure and stops at the trailer or a truncation.
   */
  private static void checkGif(byte[] b, String name, ImageLimits limits) throws ImageDecodeException {
    if (b.length < 13) {
      return; // the decoder reports the truncation
    }
    checkDimensions(u16le(b, 6), u16le(b, 8), name + " (GIF logical screen)", limits);
    int pos = 13;
    if ((b[10] & 0x80) != 0) {
      pos += 3 << ((b[10] & 7) + 1);
    }
    while (pos < b.length) {
      int block = b[pos] & 0xFF;
      if (block == 0x2C) { // image descriptor
        if (pos + 10 > b.length) {
          return;
        }
        long left = u16le(b, pos + 1);
        long top = u16le(b, pos + 3);
        long w = u16le(b, pos + 5);
        long h = u16le(b, pos + 7);
        checkDimensions(left + w, top + h, name + " (GIF frame at offset " + pos + ", placed)", limits);
        int flags = b[pos + 9] & 0xFF;
        pos += 10;
        if ((flags & 0x80) != 0) {
          pos += 3 << ((flags & 7) + 1);
        }
        pos = skipSubBlocks(b, pos + 1); // + LZW minimum code size
      } else if (block == 0x21) { // extension: label, then sub-blocks
        pos = skipSubBlocks(b, pos + 2);
      } else {
        return; // trailer 0x3B, or garbage the decoder reports
      }
    }
  }

  private static int skipSubBlocks(byte[] b, int pos) {
    while (pos < b.length) {
      int n = b[pos] & 0xFF;
      pos += 1 + n;
      if (n == 0) {
        break;
      }
    }
    return pos;
  }

  // ---------------------------------------------------------------- BMP

  /** The info header, the palette and the pixel offset must lie within the file. */
  private static void checkBmp(byte[] b, String name) throws ImageDecodeException {
    if (b.length < 18) {
      return;
    }
    long pixelOffset = u32le(b, 10);
    long infoSize = u32le(b, 14);
    if (pixelOffset > b.length || infoSize > b.length - 14L) {
      throw new ImageDecodeException(name + ": expected BMP pixel offset and header size within the file's "
          + b.length + " bytes, found " + pixelOffset + " and " + infoSize);
    }
    if (infoSize >= 40 && b.length >= 50) {
      long colours = u32le(b, 46);
      if (colours * 4 > b.length) {
        throw new ImageDecodeException(name + ": expected a BMP palette within the file's " + b.length
            + " bytes, found " + colours + " colours declared");
      }
    }
  }

  // ---------------------------------------------------------------- bytes

  private static boolean startsWith(byte[] b, byte[] prefix) {
    if (b.length < prefix.length) {
      return false;
    }
    for (int i = 0; i < prefix.length; i++) {
      if (b[i] != prefix[i]) {
        return false;
      }
    }
    return true;
  }

  private static long u32be(byte[] b, int i) {
    return ((b[i] & 0xFFL) << 24) | ((b[i + 1] & 0xFFL) << 16) | ((b[i + 2] & 0xFFL) << 8) | (b[i + 3] & 0xFFL);
  }

  private static long u32le(byte[] b, int i) {
    return (b[i] & 0xFFL) | ((b[i + 1] & 0xFFL) << 8) | ((b[i + 2] & 0xFFL) << 16) | ((b[i + 3] & 0xFFL) << 24);
  }

  private static long u16le(byte[] b, int i) {
    return (b[i] & 0xFFL) | ((b[i + 1] & 0xFFL) << 8);
  }

  /** A chunk type for a message: printable ASCII kept, anything else as \\xNN. */
  private static String printable(String s) {
    StringBuilder out = new StringBuilder();
    for (char c : s.toCharArray()) {
      out.append(c >= 0x20 && c < 0x7F ? String.valueOf(c) : String.format("\\x%02x", (int) c));
    }
    return out.toString();
  }
}
