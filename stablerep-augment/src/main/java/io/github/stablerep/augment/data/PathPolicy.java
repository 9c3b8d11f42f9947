package io.github.stablerep.augment.data;

import java.io.IOException;
import java.nio.file.InvalidPathException;
import java.nio.file.Path;

/**
 * Where the paths a dataset file lists may lead. A manifest or CSV is data, possibly from
 * someone else: left unchecked, a line {@code ../../etc/passwd} or {@code /proc/self/environ}
 * makes the reader open any file the process can, and a symbolic link in an image folder can
 * lead the walk to {@code /}. The dataset readers take a policy; the default is {@link
 * #INSIDE_ROOT}, and a caller who trusts the file opts in to {@link #ANYWHERE}.
 *
 * <p>Under both policies a path holding a control character (NUL, a line feed...) is refused:
 * no file system needs one, and NUL cannot be passed to the operating system at all.
 */
public enum PathPolicy {
  /**
   * The default: relative paths whose normalised form stays inside the dataset's root (no
   * absolute paths, no {@code ..} above the root); readers that look at the files on disk also
   * refuse a symbolic link whose target lies outside the root.
   */
  INSIDE_ROOT,
  /** Trust the listing: absolute paths, {@code ..} and links out of the root are followed. */
  ANYWHERE;

  /**
   * Resolves {@code text} against {@code root} under this policy, lexically (no file-system
   * access).
   *
   * @throws IllegalArgumentException saying what was expected and found; the caller adds the
   *     file and line and rethrows as its own exception
   */
  public Path resolve(Path root, String text) {
    for (int i = 0; i < text.length(); i++) {
      char c = text.charAt(i);
      if (c < 0x20 || c == 0x7F) {
        throw new IllegalArgumentException(String.format(
            "expected a path without control characters, found U+%04X at index %d of \"%s\"", (int) c, i,
            printable(text)));
      }
    }
    Path base = root.toAbsolutePath().normalize();
    Path resolved;
    try {
      resolved = base.resolve(text).normalize();
    } catch (InvalidPathException e) {
      throw new IllegalArgumentException("expected a valid path, found \"" + printable(text) + "\" ("
          + e.getReason() + ")", e);
    }
    if (this == INSIDE_ROOT) {
      if (isAbsolute(text)) {
        throw new IllegalArgumentException("expected a path relative to the dataset root " + base
            + ", found the absolute path \"" + printable(text) + "\" (PathPolicy.ANYWHERE admits it)");
      }
      if (!resolved.startsWith(base)) {
        throw new IllegalArgumentException("expected a path inside the dataset root " + base + ", found \""
            + printable(text) + "\", which leads to " + resolved + " (PathPolicy.ANYWHERE admits it)");
      }
    }
    return resolved;
  }

  /**
   * Checks, under {@link #INSIDE_ROOT}, that the existing {@code file} is still inside {@code
   * realRoot} once symbolic links are resolved; {@code realRoot} is the root's {@code
   * toRealPath()}, computed once by the caller.
   *
   * @throws IllegalArgumentException naming the file and where it leads
   * @throws IOException if the file's real path cannot be determined
   */
  public void checkLinks(Path realRoot, Path file) throws IOException {
    if (this == ANYWHERE) {
      return;
    }
    Path real = file.toRealPath();
    if (!real.startsWith(realRoot)) {
      throw new IllegalArgumentException("expected " + file + " to stay inside the dataset root " + realRoot
          + ", found a link to " + real + " (PathPolicy.ANYWHERE follows it)");
    }
  }

  /** Unix roots, UNC/backslash roots and Windows drive letters ({@code C:/}, {@code C:\}). */
  static boolean isAbsolute(String rel) {
    return rel.startsWith("/") || rel.startsWith("\\")
        || (rel.length() > 2 && Character.isLetter(rel.charAt(0)) && rel.charAt(1) == ':'
            && (rel.charAt(2) == '/' || rel.charAt(2) == '\\'));
  }

  /** The text with control characters shown as \\uXXXX, so a message never prints a raw NUL. */
  static String printable(String s) {
    StringBuilder out = new StringBuilder(s.length());
    for (int i = 0; i < s.length(); i++) {
      char c = s.charAt(i);
      out.append(c < 0x20 || c == 0x7F ? String.format("\\u%04x", (int) c) : String.valueOf(c));
    }
    return out.toString();
  }
}
