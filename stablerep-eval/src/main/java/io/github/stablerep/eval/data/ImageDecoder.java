package io.github.stablerep.eval.data;

import java.awt.image.BufferedImage;
import java.awt.image.ComponentColorModel;
import java.awt.image.Raster;
import java.io.IOException;
import java.nio.file.Path;
import javax.imageio.ImageIO;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Turns an image file into a {@code FLOAT [3, H, W]} array in [0, 1]. The seam through which
 * {@link ImageFolderDataset} and {@link ManifestDataset} decode files, so a better decoder (for
 * example the augment module's {@code Images.read}) can be plugged in without touching them.
 */
@FunctionalInterface
public interface ImageDecoder {

  INDArray decode(Path file) throws IOException;

  /**
   * The default: {@code javax.imageio}, which reads PNG, JPEG, BMP, GIF, WBMP and (JDK 9+)
   * TIFF; PPM/PGM and WebP need another decoder. Like torchvision's {@code pil_loader} the
   * result is always RGB: grey images are replicated into three channels and alpha is dropped
   * (not composited). 8-bit grey and RGB(A) samples are taken from the raster as stored, not
   * through {@code getRGB}, which would colour-convert linear grey; palette and packed images go
   * through {@code getRGB} (exact for sRGB). 16-bit samples are scaled by 1/65535. JPEG decoding
   * is libjpeg-like but not bit-identical to PIL's.
   */
  static ImageDecoder imageIo() {
    return ImageDecoder::decodeWithImageIo;
  }

  private static INDArray decodeWithImageIo(Path file) throws IOException {
    BufferedImage img;
    try {
      img = ImageIO.read(file.toFile());
    } catch (IOException | RuntimeException e) {
      throw new DatasetFormatException(file + ": expected a decodable image, found: " + e, e);
    }
    if (img == null) {
      throw new DatasetFormatException(
          file + ": expected an image javax.imageio can decode (PNG, JPEG, BMP, GIF, TIFF), "
              + "found no reader for it");
    }
    int h = img.getHeight();
    int w = img.getWidth();
    int plane = h * w;
    float[] v = new float[3 * plane];
    Raster raster = img.getRaster();
    int bands = raster.getNumBands();
    int bits = img.getColorModel().getComponentSize(0);
    if (img.getColorModel() instanceof ComponentColorModel && (bits == 8 || bits == 16)
        && (bands == 1 || bands == 2 || bands == 3 || bands == 4)) {
      float scale = bits == 8 ? 255f : 65535f;
      boolean grey = bands <= 2; // grey or grey+alpha
      for (int y = 0; y < h; y++) {
        for (int x = 0; x < w; x++) {
          int k = y * w + x;
          for (int c = 0; c < 3; c++) {
            v[c * plane + k] = raster.getSample(x, y, grey ? 0 : c) / scale;
          }
        }
      }
    } else {
      for (int y = 0; y < h; y++) {
        for (int x = 0; x < w; x++) {
          int argb = img.getRGB(x, y);
          int k = y * w + x;
          v[k] = ((argb >> 16) & 0xFF) / 255f;
          v[plane + k] = ((argb >> 8) & 0xFF) / 255f;
          v[2 * plane + k] = (argb & 0xFF) / 255f;
        }
      }
    }
    return Nd4j.create(v, new long[] {3, h, w}, 'c');
  }
}
