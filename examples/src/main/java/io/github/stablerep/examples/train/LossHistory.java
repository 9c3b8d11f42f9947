package io.github.stablerep.examples.train;

import static com.google.common.base.Preconditions.checkArgument;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;

/**
 * A pre-training run's loss per step, kept beside its checkpoint in {@code <checkpoint>.losses}:
 * little-endian float64 values, one per step, in step order.
 *
 * <p>Why a file of its own: the history used to be rewritten in full, as a comma-joined string in
 * the checkpoint's metadata, at every checkpoint, so saving cost grew with the run's length.
 * Here a checkpoint appends only the steps since the previous one (and syncs them) before the
 * checkpoint itself is moved into place. The checkpoint's step count says how many entries are
 * valid: a crash between the two leaves extra entries, which a resume drops, and a crash while
 * appending leaves a partial tail past them. The history can therefore never hold fewer entries
 * than its checkpoint's steps, except when it was deleted by hand; then the resume fails
 * naming the file.
 *
 * <p>Legacy: a checkpoint written before this class has no history file and keeps the losses in
 * the metadata entry {@link Pretrainer#LEGACY_LOSSES}; a resume reads them from there and writes
 * them out as a history file (atomically: temporary file, then move).
 *
 * <p>Not thread-safe; one per run.
 */
final class LossHistory {

  static final String SUFFIX = ".losses";

  private final Path file;
  /** Entries of the file that are valid, i.e. written for the current run. */
  private long persisted;

  LossHistory(Path checkpoint) {
    this.file = checkpoint.resolveSibling(checkpoint.getFileName() + SUFFIX);
  }

  /** The history file of {@code checkpoint}. */
  static Path fileOf(Path checkpoint) {
    return checkpoint.resolveSibling(checkpoint.getFileName() + SUFFIX);
  }

  Path file() {
    return file;
  }

  /** A fresh run: a history left by a deleted checkpoint is not this run's. */
  void start() throws IOException {
    Files.deleteIfExists(file);
    persisted = 0;
  }

  /**
   * The first {@code steps} losses of the history of a checkpoint at step {@code steps}; entries
   * past them are dropped from the file, so that appends continue at the right step.
   *
   * @param legacy the checkpoint's {@link Pretrainer#LEGACY_LOSSES} metadata, or null
   * @throws IllegalArgumentException if the history holds fewer than {@code steps} losses, naming
   *     the file, or a legacy entry is malformed
   */
  List<Double> resume(long steps, String legacy) throws IOException {
    List<Double> losses;
    if (!Files.exists(file) && legacy != null) {
      losses = parseLegacy(legacy);
      checkArgument(losses.size() == steps, "%s: expected %s losses in the checkpoint's legacy history, found %s",
          Pretrainer.LEGACY_LOSSES, steps, losses.size());
      writeAtomically(losses);
      persisted = steps;
      return losses;
    }
    long found = Files.exists(file) ? Files.size(file) / Double.BYTES : 0;
    checkArgument(found >= steps, "%s: expected at least %s losses (one per step of the checkpoint), found %s",
        file, steps, found);
    losses = new ArrayList<>();
    ByteBuffer buf = ByteBuffer.allocate(Math.toIntExact(steps * Double.BYTES)).order(ByteOrder.LITTLE_ENDIAN);
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
      while (buf.hasRemaining() && ch.read(buf) >= 0) {
        // read until the buffer is full
      }
      ch.truncate(steps * Double.BYTES);
      ch.force(true);
    }
    buf.flip();
    for (long i = 0; i < steps; i++) {
      losses.add(buf.getDouble());
    }
    persisted = steps;
    return losses;
  }

  /** Appends {@code losses} past what the file already holds, and syncs it. */
  void append(List<Double> losses) throws IOException {
    if (losses.size() <= persisted) {
      return;
    }
    ByteBuffer buf = ByteBuffer.allocate(Math.toIntExact((losses.size() - persisted) * Double.BYTES))
        .order(ByteOrder.LITTLE_ENDIAN);
    for (int i = (int) persisted; i < losses.size(); i++) {
      buf.putDouble(losses.get(i));
    }
    buf.flip();
    try (FileChannel ch = FileChannel.open(file, StandardOpenOption.CREATE, StandardOpenOption.WRITE)) {
      // write at the end of the valid entries, over any partial tail of an interrupted append
      long at = persisted * Double.BYTES;
      ch.truncate(at);
      while (buf.hasRemaining()) {
        at += ch.write(buf, at);
      }
      ch.force(true);
    }
    persisted = losses.size();
  }

  /** Reads a history file (all its whole entries), e.g. for a report after the run. */
  static double[] read(Path historyFile) throws IOException {
    byte[] bytes = Files.readAllBytes(historyFile);
    ByteBuffer buf = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
    double[] out = new double[bytes.length / Double.BYTES];
    for (int i = 0; i < out.length; i++) {
      out[i] = buf.getDouble();
    }
    return out;
  }

  private void writeAtomically(List<Double> losses) throws IOException {
    ByteBuffer buf = ByteBuffer.allocate(losses.size() * Double.BYTES).order(ByteOrder.LITTLE_ENDIAN);
    losses.forEach(buf::putDouble);
    Path tmp = Files.createTempFile(file.toAbsolutePath().getParent(), file.getFileName().toString(), ".tmp");
    try {
      try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE)) {
        buf.flip();
        while (buf.hasRemaining()) {
          ch.write(buf);
        }
        ch.force(true);
      }
      Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
    } finally {
      Files.deleteIfExists(tmp);
    }
  }

  private static List<Double> parseLegacy(String history) {
    List<Double> out = new ArrayList<>();
    for (String s : history.isEmpty() ? new String[0] : history.split(",")) {
      try {
        out.add(Double.parseDouble(s));
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException(Pretrainer.LEGACY_LOSSES + ": expected comma-separated numbers, found '"
            + s + "'", e);
      }
    }
    return out;
  }
}
