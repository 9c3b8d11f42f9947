package io.github.stablerep.core.io;

import java.io.IOException;

/**
 * A safetensors file is malformed, inconsistent or unsupported.
 *
 * <p>It is a checked {@link IOException} because a bad file is an input problem that callers
 * of file-reading code already handle, not a programming error. The message names the file,
 * the tensor when there is one, what was expected and what was found.
 */
public final class SafeTensorsException extends IOException {
  private static final long serialVersionUID = 1L;

  public SafeTensorsException(String message) {
    super(message);
  }

  public SafeTensorsException(String message, Throwable cause) {
    super(message, cause);
  }
}
