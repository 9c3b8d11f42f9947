package io.github.stablerep.eval.data;

import java.io.IOException;

/**
 * A dataset file or folder is malformed, truncated or inconsistent (a bad magic number, a label
 * count that differs from the image count, a label out of range, an undecodable image).
 *
 * <p>Checked, like core's {@code NpyException}: a bad file on disk is an expected failure the
 * caller should handle, not a programming error. The message names the file (and the line or
 * record where there is one), what was expected and what was found.
 */
public final class DatasetFormatException extends IOException {
  private static final long serialVersionUID = 1L;

  public DatasetFormatException(String message) {
    super(message);
  }

  public DatasetFormatException(String message, Throwable cause) {
    super(message, cause);
  }
}
