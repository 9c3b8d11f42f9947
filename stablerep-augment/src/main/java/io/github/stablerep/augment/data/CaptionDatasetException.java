package io.github.stablerep.augment.data;

import java.io.IOException;

/**
 * A manifest, CSV or folder layout that cannot be read as a caption-grouped dataset.
 *
 * <p>The message names the file and, for text formats, the 1-based line, then what was expected
 * and what was found, so a user can fix the input without reading this library's code.
 */
public final class CaptionDatasetException extends IOException {
  private static final long serialVersionUID = 1L;

  public CaptionDatasetException(String message) {
    super(message);
  }

  public CaptionDatasetException(String message, Throwable cause) {
    super(message, cause);
  }
}
