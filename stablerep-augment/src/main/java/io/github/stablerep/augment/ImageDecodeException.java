package io.github.stablerep.augment;

import java.io.IOException;

/**
 * An image file is corrupt, truncated, empty, too large to decode safely, or in a format or
 * variant that no available decoder reads.
 *
 * <p>Checked, like the core module's {@code NpyException}: a data loader has to decide what a
 * bad file means for its epoch (skip and count it), so the compiler should make it decide. It
 * extends {@link IOException} so that code treating every input problem alike can catch that.
 * The message always names the file (or the name given to {@link Images#readBytes}); the cause,
 * when there is one, is the decoder's own exception or error.
 */
public final class ImageDecodeException extends IOException {
  private static final long serialVersionUID = 1L;

  public ImageDecodeException(String message) {
    super(message);
  }

  public ImageDecodeException(String message, Throwable cause) {
    super(message, cause);
  }
}
