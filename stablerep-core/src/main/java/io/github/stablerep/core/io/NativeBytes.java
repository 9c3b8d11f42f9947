package io.github.stablerep.core.io;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.MappedByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.WritableByteChannel;
import org.bytedeco.javacpp.BytePointer;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.concurrency.AffinityManager;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Moves raw tensor bytes between files and ND4J's native buffers without a Java heap copy.
 *
 * <p>Goes through the buffer's native address rather than {@code DataBuffer.asNio()}: that
 * view is limited to 2 GiB and, for views, spans the whole underlying buffer.
 */
final class NativeBytes {

  /** Upper bound on a single mapping, so huge tensors are copied in pieces. */
  private static final long CHUNK = 1L << 30;

  private NativeBytes() {}

  /**
   * A new C-order array of {@code type} and {@code shape}, filled from {@code length} bytes of
   * {@code channel} at {@code position}, stored in {@code fileOrder}. The caller has checked
   * that {@code length} equals the element count times the element width.
   */
  static INDArray read(FileChannel channel, long position, long length, DataType type,
      long[] shape, char ordering, ByteOrder fileOrder) throws IOException {
    INDArray array = Nd4j.createUninitialized(type, shape, ordering);
    if (length == 0) {
      return array;
    }
    int width = type.width();
    boolean swap = width > 1 && fileOrder != ByteOrder.nativeOrder();
    BytePointer target = bytesOf(array, length);
    for (long done = 0; done < length; ) {
      long n = Math.min(CHUNK, length - done);
      MappedByteBuffer source = channel.map(FileChannel.MapMode.READ_ONLY, position + done, n);
      ByteBuffer dst = target.position(done).limit(done + n).asByteBuffer();
      if (swap) {
        copySwapped(source, dst, width);
      } else {
        dst.put(source);
      }
      done += n;
    }
    // Other backends keep a device copy; tell them the host copy is the fresh one.
    Nd4j.getAffinityManager().tagLocation(array, AffinityManager.Location.HOST);
    return array;
  }

  /**
   * Writes the elements of {@code array} in C order and little-endian byte order, and returns
   * the number of bytes written. Views, Fortran order and offset buffers are copied into a
   * dense C-order array first.
   */
  static long writeLittleEndian(INDArray array, WritableByteChannel out) throws IOException {
    long length = array.length() * array.dataType().width();
    if (array.isEmpty() || length == 0) {
      return 0;
    }
    INDArray dense = isDenseC(array) ? array : array.dup('c');
    Nd4j.getAffinityManager().ensureLocation(dense, AffinityManager.Location.HOST);
    BytePointer source = bytesOf(dense, length);
    int width = dense.dataType().width();
    boolean swap = width > 1 && ByteOrder.nativeOrder() != ByteOrder.LITTLE_ENDIAN;
    for (long done = 0; done < length; ) {
      long n = Math.min(CHUNK, length - done);
      ByteBuffer src = source.position(done).limit(done + n).asByteBuffer();
      if (swap) {
        ByteBuffer le = ByteBuffer.allocate((int) n).order(ByteOrder.LITTLE_ENDIAN);
        copySwapped(src, le, width);
        le.flip();
        src = le;
      }
      while (src.hasRemaining()) {
        out.write(src);
      }
      done += n;
    }
    return length;
  }

  private static boolean isDenseC(INDArray array) {
    return !array.isView() && array.ordering() == 'c' && array.data().offset() == 0
        && array.data().length() == array.length();
  }

  private static BytePointer bytesOf(INDArray array, long length) {
    BytePointer p = new BytePointer(array.data().addressPointer());
    p.capacity(length);
    return p;
  }

  /** Copies whole elements of {@code width} bytes, reversing the bytes of each. */
  private static void copySwapped(ByteBuffer src, ByteBuffer dst, int width) {
    while (src.remaining() >= width) {
      for (int i = width - 1; i >= 0; i--) {
        dst.put(src.get(src.position() + i));
      }
      src.position(src.position() + width);
    }
  }
}
