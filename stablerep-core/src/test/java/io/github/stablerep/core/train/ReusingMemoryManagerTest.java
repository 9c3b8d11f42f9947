package io.github.stablerep.core.train;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.shape.LongShapeDescriptor;
import org.nd4j.linalg.factory.Nd4j;

class ReusingMemoryManagerTest {

  @Test
  void reusesAReleasedBufferForAnyShapeOfTheSameLengthAndType() {
    ReusingMemoryManager memory = ReusingMemoryManager.withMaxPooledBytes(1 << 20);
    INDArray first = memory.allocate(false, DataType.FLOAT, 16, 6, 4);
    first.assign(3);
    memory.release(first);
    assertThat(memory.pooledBytes()).isEqualTo(16 * 6 * 4 * 4);

    INDArray second = memory.allocate(false, DataType.FLOAT, 96, 4);
    assertThat(second.shape()).containsExactly(96, 4);
    assertThat(second.stride()).containsExactly(4, 1);
    assertThat(second.data()).isSameAs(first.data());
    assertThat(memory.reusedCount()).isEqualTo(1);
    assertThat(memory.allocatedCount()).isEqualTo(1);
    assertThat(memory.pooledBytes()).isZero();

    // another data type or length is a fresh buffer
    INDArray doubles = memory.allocate(false, DataType.DOUBLE, 96, 4);
    INDArray longer = memory.allocate(false, DataType.FLOAT, 97, 4);
    assertThat(doubles.data()).isNotSameAs(first.data());
    assertThat(longer.data()).isNotSameAs(first.data());
    assertThat(memory.allocatedCount()).isEqualTo(3);
  }

  @Test
  void honoursTheDescriptorsOrder() {
    ReusingMemoryManager memory = ReusingMemoryManager.withMaxPooledBytes(1 << 20);
    memory.release(memory.allocate(false, DataType.FLOAT, 6));
    INDArray f = memory.allocate(false, LongShapeDescriptor.fromShape(new long[] {2, 3}, new long[] {1, 2}, 0, 'f',
        DataType.FLOAT, false));
    assertThat(f.ordering()).isEqualTo('f');
    assertThat(f.stride()).containsExactly(1, 2);
    assertThat(memory.reusedCount()).isEqualTo(1);
  }

  @Test
  void neverPoolsABufferThatAViewStillShares() {
    ReusingMemoryManager memory = ReusingMemoryManager.withMaxPooledBytes(1 << 20);
    INDArray base = memory.allocate(false, DataType.FLOAT, 4, 5);
    base.assign(2);
    INDArray view = base.get(org.nd4j.linalg.indexing.NDArrayIndex.interval(1, 3));
    memory.release(base);    // shared with the live view
    assertThat(memory.pooledBytes()).isZero();
    INDArray next = memory.allocate(false, DataType.FLOAT, 4, 5);
    next.assign(7);
    assertThat(next.data()).isNotSameAs(base.data());
    assertThat(view.dup().data().asFloat()).containsOnly(2f);
    memory.release(view);    // a view: its buffer is not its own
    assertThat(memory.pooledBytes()).isZero();
  }

  @Test
  void reclaimPoolsWhatAnEagerOpLeftMarkedAsShared() {
    ReusingMemoryManager memory = ReusingMemoryManager.withMaxPooledBytes(1 << 20);
    INDArray gradient = memory.allocate(false, DataType.FLOAT, 4, 8);
    gradient.assign(1);
    Nd4j.ones(DataType.FLOAT, 4, 8).muli(gradient);   // a custom op's context now holds the buffer
    memory.release(gradient);
    assertThat(memory.pooledBytes()).as("release() takes the extra native reference for a view").isZero();
    memory.reclaim(gradient);
    assertThat(memory.pooledBytes()).isEqualTo(4 * 8 * 4);
    INDArray view = memory.allocate(false, DataType.FLOAT, 32).get(org.nd4j.linalg.indexing.NDArrayIndex.interval(0, 4));
    memory.reclaim(view);   // a view is never pooled, even when its caller vouches for it
    assertThat(memory.pooledBytes()).isZero();
  }

  @Test
  void aBufferIsPooledOnceAndHandedOutOnce() {
    ReusingMemoryManager memory = ReusingMemoryManager.withMaxPooledBytes(1 << 20);
    INDArray a = memory.allocate(false, DataType.FLOAT, 8);
    memory.release(a);
    memory.release(a);   // a second release must not put it in the pool twice
    assertThat(memory.pooledBytes()).isEqualTo(32);
    INDArray x = memory.allocate(false, DataType.FLOAT, 8);
    INDArray y = memory.allocate(false, DataType.FLOAT, 2, 4);
    assertThat(x.data()).isSameAs(a.data());
    assertThat(y.data()).isNotSameAs(a.data());
  }

  @Test
  void keepsThePoolWithinItsBoundAndClosesTheRest() {
    ReusingMemoryManager memory = ReusingMemoryManager.withMaxPooledBytes(100);
    INDArray a = memory.allocate(false, DataType.FLOAT, 20);   // 80 bytes
    INDArray b = memory.allocate(false, DataType.FLOAT, 20);
    memory.release(a);
    memory.release(b);   // 160 bytes would exceed 100: closed, not pooled
    assertThat(memory.pooledBytes()).isEqualTo(80);
    assertThat(b.wasClosed()).isTrue();
    assertThat(a.wasClosed()).isFalse();
    memory.close();
    assertThat(memory.pooledBytes()).isZero();
    assertThat(a.data().wasClosed()).isTrue();
    assertThatThrownBy(() -> ReusingMemoryManager.withMaxPooledBytes(-1))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("maxPooledBytes").hasMessageContaining("-1");
  }

  @Test
  void emptyAndZeroLengthArraysBypassThePool() {
    ReusingMemoryManager memory = ReusingMemoryManager.withMaxPooledBytes(1 << 20);
    INDArray empty = memory.allocate(false, DataType.FLOAT, 0, 3);
    assertThat(empty.isEmpty()).isTrue();
    memory.release(empty);
    assertThat(memory.pooledBytes()).isZero();
    assertThat(memory.allocatedCount()).isZero();
  }
}
