package io.github.stablerep.core.train;

import static com.google.common.base.Preconditions.checkArgument;

import java.util.ArrayDeque;
import java.util.Collections;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.Map;
import java.util.Set;
import org.bytedeco.javacpp.Pointer;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.autodiff.samediff.internal.InferenceSession;
import org.nd4j.autodiff.samediff.internal.SessionMemMgr;
import org.nd4j.autodiff.samediff.internal.memory.AbstractMemoryMgr;
import org.nd4j.linalg.api.buffer.DataBuffer;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.shape.LongShapeDescriptor;
import org.nd4j.linalg.factory.Nd4j;

/**
 * A SameDiff session memory manager that hands a released buffer out again for any array of the
 * same data type and element count, whatever its shape.
 *
 * <p>Why not SameDiff's own {@code ArrayCacheMemoryMgr}: in ND4J 1.0.0-M2.1 it keys its cache by
 * the exact shape, so a training step that meets the same activation as {@code [16, 197, 768]}
 * and as {@code [3152, 768]}, or a gradient of a different but equally long shape, misses it and
 * allocates afresh. A fresh multi-megabyte buffer comes from {@code mmap} and is page-faulted in
 * on first touch; in a ViT training step that cost as much wall time as the ops themselves
 * (benchmarks/README.md). Reusing by length keeps a step's working set in buffers that are
 * already mapped.
 *
 * <p>What it never reuses: a buffer that another live array still shares (ND4J's native use count
 * above one, e.g. a view), which it leaves to the garbage collector rather than close (SameDiff's
 * manager closes it, and with it the view); a string buffer, or a buffer that would take the pool
 * past {@code maxPooledBytes}, which it closes. A session uses its manager
 * from one thread only (SameDiff keeps one session per thread), so this class is not thread-safe.
 */
final class ReusingMemoryManager extends AbstractMemoryMgr {

  private record Key(DataType dataType, long length) {}

  private final long maxPooledBytes;
  private final Map<Key, ArrayDeque<DataBuffer>> free = new HashMap<>();
  private final Set<DataBuffer> pooled = Collections.newSetFromMap(new IdentityHashMap<>());
  private long pooledBytes;
  private long reused;
  private long allocated;
  private long allocatedBytes;

  private ReusingMemoryManager(long maxPooledBytes) {
    this.maxPooledBytes = maxPooledBytes;
  }

  /**
   * A manager bounded only by JavaCPP's {@code maxBytes}, which caps all of ND4J's native memory
   * anyway: a step's live arrays and its pooled ones add up to the same working set, so a smaller
   * pool would not lower the peak, only turn reuse into fresh allocations.
   */
  static ReusingMemoryManager create() {
    return withMaxPooledBytes(Pointer.maxBytes());
  }

  /**
   * Gives {@code sd}'s inference session on the calling thread a reusing manager (creating the
   * session if needed, keeping one already installed), so that repeated {@code sd.output} calls
   * on that thread take their intermediate arrays from the previous calls' released buffers
   * instead of fresh, page-faulted allocations. Arrays a call returns are never released by the
   * session, so they stay valid after later calls.
   *
   * @return the session's manager
   */
  static ReusingMemoryManager installOn(SameDiff sd) {
    checkArgument(sd != null, "sd: expected a SameDiff instance, found null");
    InferenceSession session = sd.getSessions()
        .computeIfAbsent(Thread.currentThread().getId(), id -> SameDiff.getInferenceFactory().create(sd));
    if (session.getMmgr() instanceof ReusingMemoryManager reusing) {
      return reusing;
    }
    SessionMemMgr previous = session.getMmgr();
    ReusingMemoryManager created = create();
    session.setMmgr(created);
    if (previous != null) {
      previous.close();
    }
    return created;
  }

  /**
   * A manager that keeps at most {@code maxPooledBytes} in released buffers.
   *
   * @throws IllegalArgumentException if {@code maxPooledBytes} is negative
   */
  static ReusingMemoryManager withMaxPooledBytes(long maxPooledBytes) {
    checkArgument(maxPooledBytes >= 0, "maxPooledBytes: expected >= 0, found %s", maxPooledBytes);
    return new ReusingMemoryManager(maxPooledBytes);
  }

  @Override
  public INDArray allocate(boolean detached, DataType dataType, long... shape) {
    return allocate(dataType, shape, 'c');
  }

  @Override
  public INDArray allocate(boolean detached, LongShapeDescriptor descriptor) {
    if (descriptor.isEmpty()) {
      return Nd4j.create(descriptor);
    }
    return allocate(descriptor.dataType(), descriptor.getShape(), descriptor.getOrder());
  }

  private INDArray allocate(DataType dataType, long[] shape, char order) {
    long length = 1;
    for (long d : shape) {
      length *= d;
    }
    if (length == 0 || dataType == DataType.UTF8) {
      return Nd4j.createUninitializedDetached(dataType, order, shape);
    }
    ArrayDeque<DataBuffer> candidates = free.get(new Key(dataType, length));
    DataBuffer buffer = candidates == null ? null : candidates.pollLast();
    if (buffer == null) {
      allocated++;
      allocatedBytes += length * dataType.width();
      return Nd4j.createUninitializedDetached(dataType, order, shape);
    }
    pooled.remove(buffer);
    pooledBytes -= length * dataType.width();
    reused++;
    return Nd4j.create(buffer, shape, Nd4j.getStrides(shape, order), 0, order, dataType);
  }

  @Override
  public void release(INDArray array) {
    pool(array, true);
  }

  /**
   * Pools an array that its caller owns outright, such as a gradient the optimiser has applied.
   * Unlike {@link #release} it does not consult ND4J's native use count: after an eager op (say
   * {@code t.muli(g)}) the op's native context keeps a reference to {@code g}'s buffer until the
   * garbage collector frees the context, so every gradient an optimiser has touched counts as
   * shared. The caller vouches that no view of the array is still in use.
   */
  void reclaim(INDArray array) {
    pool(array, false);
  }

  private void pool(INDArray array, boolean checkUseCount) {
    if (array == null || array.isEmpty() || array.data() == null) {
      return;
    }
    DataBuffer buffer = array.data();
    boolean exclusive = !array.isView()
        && buffer.originalDataBuffer() == null
        && buffer.length() == array.length()
        && !buffer.wasClosed()
        && !pooled.contains(buffer)
        && (!checkUseCount || Nd4j.getExecutioner().useCount(buffer) <= 1);
    if (!exclusive) {
      // Closing a buffer that a live view shares would close the view too (ND4J marks both
      // closed), so it is left to the garbage collector.
      return;
    }
    long bytes = buffer.length() * buffer.dataType().width();
    if (buffer.dataType() == DataType.UTF8 || pooledBytes + bytes > maxPooledBytes) {
      if (array.closeable()) {
        array.close();
      }
      return;
    }
    free.computeIfAbsent(new Key(buffer.dataType(), buffer.length()), k -> new ArrayDeque<>()).addLast(buffer);
    pooled.add(buffer);
    pooledBytes += bytes;
  }

  /** Closes every pooled buffer; the manager can still be used afterwards. */
  @Override
  public void close() {
    for (DataBuffer buffer : pooled) {
      if (!buffer.wasClosed() && buffer.closeable()) {
        buffer.close();
      }
    }
    pooled.clear();
    free.clear();
    pooledBytes = 0;
  }

  /** Allocations served from a released buffer so far. */
  long reusedCount() {
    return reused;
  }

  /** Allocations that needed a fresh buffer so far. */
  long allocatedCount() {
    return allocated;
  }

  /** Bytes of fresh buffers allocated so far. */
  long allocatedBytes() {
    return allocatedBytes;
  }

  /** Bytes currently held in released buffers, waiting to be reused. */
  long pooledBytes() {
    return pooledBytes;
  }
}
