package io.github.stablerep.core.io;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;

/**
 * Writes a file so that readers see either the old content or the complete new content: a
 * temporary file in the same directory (so the rename stays on one file system), fsync, then an
 * atomic rename over the target. On any failure the temporary file is removed.
 */
final class AtomicFiles {

  /** Streams the content of a file into an open channel. */
  @FunctionalInterface
  interface Content {
    void writeTo(FileChannel channel) throws IOException;
  }

  private AtomicFiles() {}

  static void write(Path target, Content content) throws IOException {
    Path absolute = target.toAbsolutePath();
    Path dir = absolute.getParent();
    Path temp = Files.createTempFile(dir, "." + absolute.getFileName(), ".tmp");
    boolean moved = false;
    try {
      try (FileChannel ch = FileChannel.open(temp, StandardOpenOption.WRITE,
          StandardOpenOption.TRUNCATE_EXISTING)) {
        content.writeTo(ch);
        ch.force(true);
      }
      try {
        Files.move(temp, absolute, StandardCopyOption.ATOMIC_MOVE,
            StandardCopyOption.REPLACE_EXISTING);
      } catch (AtomicMoveNotSupportedException e) {
        throw new IOException("cannot replace " + absolute + " atomically", e);
      }
      moved = true;
      syncDirectory(dir);
    } finally {
      if (!moved) {
        Files.deleteIfExists(temp);
      }
    }
  }

  /** Makes the rename itself durable; not every platform can open a directory, hence best effort. */
  private static void syncDirectory(Path dir) {
    try (FileChannel ch = FileChannel.open(dir, StandardOpenOption.READ)) {
      ch.force(true);
    } catch (IOException | UnsupportedOperationException e) {
      // The data itself is already on disk; only the directory entry's durability is at stake.
    }
  }
}
