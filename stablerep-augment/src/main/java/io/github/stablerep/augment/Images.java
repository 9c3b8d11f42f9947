package io.github.stablerep.augment;

import static com.google.common.base.Preconditions.checkArgument;

import io.github.stablerep.core.io.AtomicFiles;
import java.awt.Dimension;
import java.awt.color.ColorSpace;
import java.awt.image.BufferedImage;
import java.awt.image.ColorModel;
import java.awt.image.IndexColorModel;
import java.awt.image.Raster;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicBoolean;
import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.stream.ImageInputStream;
import org.apache.commons.imaging.ImageFormat;
import org.apache.commons.imaging.ImageFormats;
import org.apache.commons.imaging.Imaging;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Reads images into {@code [3, H, W]} {@code FLOAT} arrays with values in [0, 1], and writes
 * such arrays as PNG.
 *
 * <p><b>Decoders.</b> PNG, BMP, GIF and TIFF are decoded by Apache Commons Imaging
 * (1.0.0-alpha5). Two cases fall back to {@code javax.imageio}:
 * <ul>
 *   <li>JPEG, all of it. Commons Imaging rejects progressive JPEG ("Only sequential, baseline
 *       JPEGs are supported at the moment"), and on baseline JPEG its IDCT and chroma
 *       upsampling differ from libjpeg's: measured mean |Δ| 1.59/255, max 12/255 against PIL
 *       on the golden 4:2:0 photograph, while the JDK's reader (libjpeg 6b, fancy upsampling)
 *       matched PIL bit-exactly on baseline, progressive and grey JPEG. The training reference
 *       decodes with PIL, so JPEG goes to {@code javax.imageio}.
 *   <li>Images that Commons Imaging returns with a grey colour space (greyscale PNG, for
 *       instance): it builds them through {@code setRGB} into a linear-grey
 *       {@code BufferedImage}, which merges dark levels (73 of 256 levels of a grey ramp came
 *       back wrong); {@code javax.imageio} keeps the samples.
 * </ul>
 * Formats are recognised from the bytes, never from the file name.
 *
 * <p><b>Colour conversion</b> follows PIL's {@code Image.convert("RGB")}: alpha is dropped, not
 * composited onto a background; grey is replicated into three channels; palettes are expanded.
 * Samples are scaled by their own bit depth, {@code v / (2^bits − 1)}, so a 16-bit grey PNG
 * keeps its content. This is the one deliberate difference from PIL 9.4, which opens 16-bit grey
 * as mode {@code I} and clips it to 255 on {@code convert("RGB")}, turning most such images
 * white. Images in other colour spaces (CMYK JPEG, for instance) go through Java2D's colour
 * conversion to sRGB.
 *
 * <p><b>Measured against PIL 9.4</b> (tools/reference/images_reference.py, 32×24 photograph):
 * PNG in modes RGB, RGBA, L, LA, P and 16-bit grey (against the 8-bit source, see above),
 * 24-bit BMP, GIF, uncompressed RGB TIFF, and baseline, progressive and grey JPEG all decode
 * bit-exactly. JPEG decoders may legitimately differ in IDCT and upsampling on other files
 * (libjpeg-turbo's SIMD paths, for one), so the tests allow mean |Δ| ≤ 2/255, max ≤ 16/255 there.
 *
 * <p><b>Failures.</b> A corrupt, truncated, empty, unrecognised or over-large file throws
 * {@link ImageDecodeException} naming the file; no other exception or error escapes from the
 * decoders: their runtime exceptions and errors (index errors, negative array sizes, out of
 * memory, stack overflow) are wrapped. Failures of the file system itself (a missing file, no
 * permission) surface as the usual {@link IOException}s of {@link Files#readAllBytes}.
 *
 * <p><b>Untrusted files.</b> Before any decoder allocates in proportion to what a file declares,
 * the declaration is checked against {@link ImageLimits} ({@link ImageLimits#DEFAULT} unless
 * given): the file's size; every PNG chunk length against the bytes left in the file; the
 * dimensions (PNG IHDR, GIF screen and every frame, the JPEG frame header, the BMP and TIFF
 * headers) against {@link ImageLimits#maxPixels()}; the inflated size of PNG metadata. A small
 * file declaring a huge image (a decompression bomb) is refused without allocating it. A JPEG
 * whose data ends early is refused ("truncated image"), as PIL raises "image file is truncated",
 * where libjpeg would only warn and fill the rest with grey.
 *
 * <p>All methods are thread-safe.
 */
public final class Images {

  /**
   * The ceiling of every pixel limit, 2^28 (16384 × 16384): beyond it the float planes no longer
   * fit one Java array. {@link #writePng} refuses larger images; reading is limited by {@link
   * ImageLimits#maxPixels()}, by default far less.
   */
  public static final long MAX_PIXELS = 1L << 28;

  private static final Logger LOG = LoggerFactory.getLogger(Images.class);
  /** PIL warns of a possible decompression bomb once per call site; this warns once per JVM. */
  private static final AtomicBoolean WARNED_LARGE = new AtomicBoolean();

  private Images() {}

  /**
   * Decodes the image file at {@code path}.
   *
   * @return a new {@code FLOAT} array {@code [3, H, W]} in [0, 1]
   * @throws ImageDecodeException if the file is not a decodable image (message names the file)
   * @throws IOException if the file cannot be read at all
   */
  public static INDArray read(Path path) throws IOException {
    return read(path, ImageLimits.DEFAULT);
  }

  /**
   * Decodes the image file at {@code path} within {@code limits}.
   *
   * @return a new {@code FLOAT} array {@code [3, H, W]} in [0, 1]
   * @throws ImageDecodeException if the file is not a decodable image or is beyond a limit
   *     (message names the file)
   * @throws IOException if the file cannot be read at all
   */
  public static INDArray read(Path path, ImageLimits limits) throws IOException {
    checkLimits(limits);
    long size = Files.size(path);
    if (size > limits.maxFileBytes()) {
      throw new ImageDecodeException(path + ": expected an image file of at most " + limits.maxFileBytes()
          + " bytes (ImageLimits.maxFileBytes), found " + size);
    }
    byte[] bytes = Files.readAllBytes(path);
    return readBytes(bytes, path.toString(), limits);
  }

  /**
   * Decodes an image held in memory; {@code name} is only used in error messages.
   *
   * @return a new {@code FLOAT} array {@code [3, H, W]} in [0, 1]
   * @throws ImageDecodeException if the bytes are not a decodable image
   */
  public static INDArray readBytes(byte[] bytes, String name) throws ImageDecodeException {
    return readBytes(bytes, name, ImageLimits.DEFAULT);
  }

  /**
   * Decodes an image held in memory within {@code limits}; {@code name} is only used in error
   * messages.
   *
   * @return a new {@code FLOAT} array {@code [3, H, W]} in [0, 1]
   * @throws ImageDecodeException if the bytes are not a decodable image or are beyond a limit
   */
  public static INDArray readBytes(byte[] bytes, String name, ImageLimits limits) throws ImageDecodeException {
    checkLimits(limits);
    if (bytes == null || bytes.length == 0) {
      throw new ImageDecodeException(name + ": expected image data, found an empty file");
    }
    if (bytes.length > limits.maxFileBytes()) {
      throw new ImageDecodeException(name + ": expected image data of at most " + limits.maxFileBytes()
          + " bytes (ImageLimits.maxFileBytes), found " + bytes.length);
    }
    try {
      ImageHeaders.check(bytes, name, limits);
      return toChw(decode(bytes, name, limits), name, limits);
    } catch (ImageDecodeException e) {
      throw e;
    } catch (Exception | Error e) {
      // Decoders of hostile input fail in every way (ArrayIndexOutOfBounds, NegativeArraySize,
      // OutOfMemory from lying headers, StackOverflow): callers need one failure type per file.
      throw new ImageDecodeException(name + ": cannot decode image: " + reason(e), e);
    }
  }

  /** What went wrong, in the decoder's words: its message, or the kind of failure when it has none. */
  private static String reason(Throwable e) {
    String m = e.getMessage();
    return m == null || m.isBlank() ? e.getClass().getSimpleName() : m;
  }

  private static void checkLimits(ImageLimits limits) {
    checkArgument(limits != null, "limits: expected ImageLimits (ImageLimits.DEFAULT, say), found null");
  }

  private static BufferedImage decode(byte[] bytes, String name, ImageLimits limits) throws IOException {
    ImageFormat format = Imaging.guessFormat(bytes);
    if (format == null || format == ImageFormats.UNKNOWN) {
      throw new ImageDecodeException(
          name + ": expected PNG, JPEG, BMP, GIF or TIFF data, found no reader for it (unrecognised"
              + " format, first bytes " + hexPrefix(bytes) + ")");
    }
    if (format == ImageFormats.JPEG) {
      return decodeWithImageIo(bytes, name, limits);
    }
    Dimension size = Imaging.getImageSize(bytes);
    checkSize(size.width, size.height, name, limits);
    BufferedImage image = Imaging.getBufferedImage(bytes);
    if (image == null) {
      throw new ImageDecodeException(
          name + ": the " + format.getName() + " decoder returned no image");
    }
    if (image.getColorModel().getColorSpace().getType() == ColorSpace.TYPE_GRAY) {
      // Commons Imaging stores grey through setRGB into a linear-grey BufferedImage: the sRGB
      // to linear step merges dark levels (73 of 256 grey levels of a ramp came back wrong).
      return decodeWithImageIo(bytes, name, limits);
    }
    return image;
  }

  /**
   * The javax.imageio path, used for JPEG and grey images; checks the size before reading
   * pixels. libjpeg reports a truncated JPEG only as a warning and fills the rest with grey;
   * that warning is made an error, as PIL raises "image file is truncated". Other libjpeg
   * warnings (extraneous bytes before a marker, for instance) are tolerated, as PIL does.
   * See {@link #isTruncationWarning} for the wordings.
   */
  private static BufferedImage decodeWithImageIo(byte[] bytes, String name, ImageLimits limits)
      throws IOException {
    try (ImageInputStream in = ImageIO.createImageInputStream(new ByteArrayInputStream(bytes))) {
      Iterator<ImageReader> readers = ImageIO.getImageReaders(in);
      if (!readers.hasNext()) {
        throw new ImageDecodeException(name + ": no javax.imageio reader accepts this image");
      }
      ImageReader reader = readers.next();
      try {
        reader.setInput(in, true, true);
        checkSize(reader.getWidth(0), reader.getHeight(0), name, limits);
        List<String> warnings = new ArrayList<>();
        reader.addIIOReadWarningListener((source, warning) -> warnings.add(warning));
        BufferedImage image = reader.read(0);
        for (String warning : warnings) {
          if (isTruncationWarning(warning)) {
            throw new ImageDecodeException(name + ": truncated image (" + warning + ")");
          }
        }
        return image;
      } finally {
        reader.dispose();
      }
    }
  }

  /**
   * Whether a javax.imageio warning reports missing data. The JDK's JPEG reader words it
   * "Truncated File - Missing EOI marker" (any file cut short, even by only its last two bytes:
   * PIL raises "image file is truncated" for those too), and libjpeg "Premature end of JPEG
   * file" or "Corrupt JPEG data: premature end of data segment"; hence lower case and three
   * phrases. Tested on every truncation of the golden JPEGs (ImagesHostileTest).
   */
  static boolean isTruncationWarning(String warning) {
    if (warning == null) {
      return false;
    }
    String w = warning.toLowerCase(Locale.ROOT);
    return w.contains("premature end") || w.contains("truncated") || w.contains("missing eoi");
  }

  private static void checkSize(long width, long height, String name, ImageLimits limits)
      throws ImageDecodeException {
    ImageHeaders.checkDimensions(width, height, name, limits);
    if (width * height > limits.maxPixels() / 2 && WARNED_LARGE.compareAndSet(false, true)) {
      LOG.warn("{}: {}x{} is more than half of ImageLimits.maxPixels {}; a file this size may be a"
          + " decompression bomb (warned once)", name, width, height, limits.maxPixels());
    }
  }

  /** RGB planes scaled by each sample's bit depth; alpha dropped, grey replicated. */
  private static INDArray toChw(BufferedImage image, String name, ImageLimits limits)
      throws ImageDecodeException {
    int w = image.getWidth();
    int h = image.getHeight();
    ImageHeaders.checkDimensions(w, h, name, limits);
    int plane = w * h;
    float[] data = new float[3 * plane];
    ColorModel cm = image.getColorModel();
    ColorSpace cs = cm.getColorSpace();
    Raster raster = image.getRaster();
    boolean direct = !(cm instanceof IndexColorModel) && !cm.isAlphaPremultiplied();
    if (direct && cs.getType() == ColorSpace.TYPE_GRAY && cm.getNumColorComponents() == 1) {
      // Read the samples, not getRGB: Java2D treats TYPE_BYTE_GRAY as linear grey and would
      // apply the sRGB curve, which PIL never does.
      // divided, not multiplied by the reciprocal: v / 255f is torchvision's to_tensor value
      float scale = (1 << cm.getComponentSize(0)) - 1;
      int[] row = new int[w];
      for (int y = 0; y < h; y++) {
        raster.getSamples(0, y, w, 1, 0, row);
        for (int x = 0; x < w; x++) {
          float v = row[x] / scale;
          int p = y * w + x;
          data[p] = v;
          data[plane + p] = v;
          data[2 * plane + p] = v;
        }
      }
    } else if (direct && cs.isCS_sRGB() && cm.getNumColorComponents() == 3) {
      int[] row = new int[w];
      for (int c = 0; c < 3; c++) {
        float scale = (1 << cm.getComponentSize(c)) - 1;
        for (int y = 0; y < h; y++) {
          raster.getSamples(0, y, w, 1, c, row);
          int base = c * plane + y * w;
          for (int x = 0; x < w; x++) {
            data[base + x] = row[x] / scale;
          }
        }
      }
    } else {
      // Palettes (exact lookups) and foreign colour spaces (Java2D's conversion to sRGB).
      int[] row = new int[w];
      for (int y = 0; y < h; y++) {
        image.getRGB(0, y, w, 1, row, 0, w);
        for (int x = 0; x < w; x++) {
          int argb = row[x];
          int p = y * w + x;
          data[p] = ((argb >>> 16) & 0xFF) / 255f;
          data[plane + p] = ((argb >>> 8) & 0xFF) / 255f;
          data[2 * plane + p] = (argb & 0xFF) / 255f;
        }
      }
    }
    return Nd4j.create(data, new long[] {3, h, w}, 'c');
  }

  /**
   * Writes {@code image} ({@code [3, H, W]} in [0, 1]) as an 8-bit RGB PNG, atomically: the
   * bytes go to a temporary file in the same directory, are forced to disk, then renamed over
   * {@code path}, so readers see the old file or the complete new one.
   *
   * <p>Pixels are {@code (int) (v * 255)}, truncated towards zero, as torchvision's
   * {@code to_pil_image} does ({@code pic.mul(255).byte()}); bit-identical to it on
   * tools/reference/images_reference.py's input. Values outside [0, 1] are clamped first and NaN
   * becomes 0 (torchvision's cast is undefined there). Encoded by Commons Imaging.
   */
  public static void writePng(Path path, INDArray image) throws IOException {
    byte[] png;
    try {
      png = pngBytes(image);
    } catch (java.io.UncheckedIOException e) {
      throw e.getCause(); // writePng has always reported an encoder failure as its IOException
    }
    AtomicFiles.writeBytes(path, png);
  }

  /**
   * The bytes {@link #writePng} writes for {@code image}: the same conversion and encoder, for
   * writers that do not store PNGs as files (a Parquet column, a network stream).
   *
   * @throws IllegalArgumentException when the shape is not {@code [3, H, W]} or too large
   * @throws java.io.UncheckedIOException when the encoder fails
   */
  public static byte[] pngBytes(INDArray image) {
    if (image == null || image.rank() != 3 || image.size(0) != 3 || image.size(1) < 1
        || image.size(2) < 1) {
      throw new IllegalArgumentException(
          "image: expected shape [3, H, W] with H, W >= 1, found "
              + (image == null ? "null" : java.util.Arrays.toString(image.shape())));
    }
    if (image.size(1) * image.size(2) > MAX_PIXELS) {
      throw new IllegalArgumentException(
          "image: expected at most " + MAX_PIXELS + " pixels, found "
              + image.size(1) + "x" + image.size(2));
    }
    int h = (int) image.size(1);
    int w = (int) image.size(2);
    float[] v = image.castTo(DataType.FLOAT).dup('c').data().asFloat();
    int plane = h * w;
    BufferedImage out = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
    int[] row = new int[w];
    for (int y = 0; y < h; y++) {
      for (int x = 0; x < w; x++) {
        int p = y * w + x;
        row[x] = (toByte(v[p]) << 16) | (toByte(v[plane + p]) << 8) | toByte(v[2 * plane + p]);
      }
      out.setRGB(0, y, w, 1, row, 0, w);
    }
    try {
      return Imaging.writeImageToBytes(out, ImageFormats.PNG);
    } catch (IOException e) {
      // an in-memory encode of a valid RGB image; only an encoder bug lands here
      throw new java.io.UncheckedIOException("image: PNG encoding failed: " + e.getMessage(), e);
    }
  }

  private static int toByte(float v) {
    if (!(v > 0f)) {
      return 0; // also NaN
    }
    return v >= 1f ? 255 : (int) (v * 255f);
  }

  private static String hexPrefix(byte[] b) {
    StringBuilder s = new StringBuilder();
    for (int i = 0; i < Math.min(8, b.length); i++) {
      s.append(String.format("%02x", b[i] & 0xFF));
    }
    return s.toString();
  }
}
