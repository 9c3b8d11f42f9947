package io.github.stablerep.core.io;

import static com.google.common.base.Preconditions.checkArgument;

import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;

/**
 * Writes a file so that readers see either the old content or the complete new content, never a
 * partial file, even when the process is killed mid-write: the content goes to a temporary file
 * in the target's folder (so the rename stays on one file system), is forced to disk, and the
 * temporary file is then renamed over the target atomically. On any failure the temporary file
 * is removed and the target is left as it was.
 *
 * <p>The temporary file is named {@code .<target name><random digits>.tmp}; only a process that
 * dies between creating it and renaming it leaves one behind, and callers that resume work in a
 * folder may delete such names. The target's folder must exist.
 *
 * <p>Every file the project writes goes through here: tensor files ({@link Npy},
 * {@link SafeTensors}), images, manifests, reports and charts. A file system that cannot rename
 * atomically makes every method throw an {@link IOException} naming the target, rather than fall
 * back to a copy that a reader could see half-done.
 */
public final class AtomicFiles {

  /** Writes a file's content into an open channel; the channel is forced and closed for it. */
  @FunctionalInterface
  public interface ChannelContent {
    void writeTo(FileChannel channel) throws IOException;
  }

  /**
   * Writes a file's content into a stream; the stream is flushed, forced and closed for it, so
   * the content must not close it.
   */
  @FunctionalInterface
  public interface StreamContent {
    void writeTo(OutputStream out) throws IOException;
  }

  private AtomicFiles() {}

  /** Replaces {@code target} with {@code bytes}. */
  public static void writeBytes(Path target, byte[] bytes) throws IOException {
    checkArgument(bytes != null, "bytes: expected the content of %s, found null", target);
    write(target, channel -> {
      ByteBuffer buf = ByteBuffer.wrap(bytes);
      while (buf.hasRemaining()) {
        channel.write(buf);
      }
    });
  }

  /** Replaces {@code target} with {@code text} in UTF-8. */
  public static void writeString(Path target, CharSequence text) throws IOException {
    checkArgument(text != null, "text: expected the content of %s, found null", target);
    writeBytes(target, text.toString().getBytes(StandardCharsets.UTF_8));
  }

  /**
   * Replaces {@code target} with what {@code content} writes to a buffered stream: for writers
   * that take an {@link OutputStream} ({@code ImageIO.write}, {@code InputStream.transferTo}).
   */
  public static void writeStream(Path target, StreamContent content) throws IOException {
    checkArgument(content != null, "content: expected a writer for %s, found null", target);
    write(target, channel -> {
      // not closed here: closing the stream would close the channel before it is forced
      OutputStream out = new BufferedOutputStream(Channels.newOutputStream(channel), 1 << 16);
      content.writeTo(out);
      out.flush();
    });
  }

  /** Replaces {@code target} with what {@code content} writes to the channel. */
  public static void write(Path target, ChannelContent content) throws IOException {
    checkArgument(target != null, "target: expected a file path, found null");
    checkArgument(content != null, "content: expected a writer for %s, found null", target);
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
