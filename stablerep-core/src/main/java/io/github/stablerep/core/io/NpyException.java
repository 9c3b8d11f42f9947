package io.github.stablerep.core.io;

import java.io.IOException;

/**
 * A {@code .npy} file is malformed, inconsistent or unsupported.
 *
 * <p>Checked, like {@link SafeTensorsException}, for the same reason. The message names the
 * file, what was expected and what was found.
 */
public final class NpyException extends IOException {
  private static final long serialVersionUID = 1L;

  public NpyException(String message) {
    super(message);
  }

  public NpyException(String message, Throwable cause) {
    super(message, cause);
  }
}
