package io.github.stablerep.eval.data;

import static com.google.common.base.Preconditions.checkArgument;

import io.github.stablerep.augment.ImageDecodeException;
import io.github.stablerep.augment.ImageLimits;
import io.github.stablerep.augment.Images;
import java.io.IOException;
import java.nio.file.Path;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Turns an image file into a {@code FLOAT [3, H, W]} array in [0, 1]. The seam through which
 * {@link ImageFolderDataset} and {@link ManifestDataset} decode files, so another decoder can be
 * plugged in without touching them.
 *
 * <p>The default, {@link #standard()}, is the augment module's {@link Images#read}: the decoder
 * training uses, so evaluation sees the same pixels, and the one with the limits for untrusted
 * files ({@link ImageLimits}: pixels, file size, PNG chunk lengths and metadata), which refuse a
 * decompression bomb before allocating it. Its {@link ImageDecodeException}s are rethrown as
 * {@link DatasetFormatException}s (the same message, naming the file), the eval readers' one
 * failure type.
 */
@FunctionalInterface
public interface ImageDecoder {

  INDArray decode(Path file) throws IOException;

  /** {@link Images#read} within {@link ImageLimits#DEFAULT}; see the interface comment. */
  static ImageDecoder standard() {
    return standard(ImageLimits.DEFAULT);
  }

  /** {@link Images#read} within {@code limits}: PNG, JPEG, BMP, GIF and TIFF, always RGB. */
  static ImageDecoder standard(ImageLimits limits) {
    checkArgument(limits != null, "limits: expected ImageLimits (ImageLimits.DEFAULT, say), found null");
    return file -> {
      try {
        return Images.read(file, limits);
      } catch (ImageDecodeException e) {
        // the eval readers' one documented failure; the message already names the file
        throw new DatasetFormatException(e.getMessage(), e);
      }
    };
  }

  /**
   * The former default, a bare {@code javax.imageio} decoder, had no size limit (a 627-byte GIF
   * decoded to 16384 × 16384); it is now {@link #standard()}.
   *
   * @deprecated use {@link #standard()}
   */
  @Deprecated
  static ImageDecoder imageIo() {
    return standard();
  }
}
