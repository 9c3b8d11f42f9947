package io.github.stablerep.augment.data;

import io.github.stablerep.augment.Images;
import io.github.stablerep.augment.SimClrAugmentation;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.CancellationException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * StableRep's multi-positive batches: {@code n} captions times {@code m} distinct images of
 * each, in view-major order with positional caption ids ({@link MultiViewBatch}).
 *
 * <pre>{@code
 * try (MultiViewSampler sampler = MultiViewSampler.builder()
 *         .dataset(dataset).captionsPerBatch(64).viewsPerCaption(6)
 *         .augmentation(SimClrAugmentation.stableRep(224)).seed(0).build();
 *     MultiViewSampler.Epoch epoch = sampler.epoch(0)) {
 *   while (epoch.hasNext()) {
 *     MultiViewBatch batch = epoch.next();
 *   }
 * }
 * }</pre>
 *
 * <p><b>Epochs.</b> Each epoch's plan is drawn from {@code (seed, epoch)} before decoding: the
 * caption order is shuffled, and each caption's images are permuted. Two {@link EpochMode}s:
 *
 * <ul>
 *   <li>{@link EpochMode#CAPTIONS} (default, as the reference): every eligible caption appears
 *       once per epoch with {@code m} of its images drawn without replacement (the reference's
 *       {@code np.random.choice(len(root_list), num_views, replace=False)}). An image is seen at
 *       most once per epoch, exactly once when every caption has exactly {@code m} images.
 *   <li>{@link EpochMode#IMAGES}: a caption with {@code k} images contributes {@code k / m}
 *       disjoint groups, so every image is seen at most once per epoch and exactly once when
 *       {@code m} divides {@code k} and no group is dropped. Groups are packed so that a batch's
 *       captions are distinct.
 * </ul>
 *
 * Groups that do not fill a last batch are dropped and counted (the reference trains with
 * {@code drop_last}).
 *
 * <p><b>Captions with fewer than {@code m} images</b> are excluded and counted in
 * {@link SamplerStats#captionsTooSmall()}. The reference does not sample with replacement: its
 * {@code np.random.choice(..., replace=False)} raises for such a caption, so excluding matches
 * it wherever it runs at all. {@code build()} fails when fewer than {@code n} captions remain.
 *
 * <p><b>Unreadable files</b> ({@link Images#read} throws an {@link IOException}: corrupt,
 * truncated, missing) are skipped, logged at WARN through SLF4J and counted in
 * {@link SamplerStats}. The slot is refilled from the caption's spare images (those not
 * scheduled elsewhere in the epoch, in the plan's order), so at-most-once per epoch still holds.
 * When no spare is readable, the slot gets a replacement caption: one not in the batch, drawn
 * from a seed derived from {@code (seed, epoch, batch)}, with its first {@code m} readable images
 * in a seeded order; replacements may repeat images already seen in the epoch and are counted in
 * {@link SamplerStats#replacedCaptions()}. The positional ids are unchanged and the batch still
 * has {@code n*m} rows. If no caption can fill the slot the consumer gets an
 * {@link IllegalStateException}.
 *
 * <p><b>Threads.</b> Batches are assembled (decode, stack, augment) on a fixed pool of
 * {@code threads}, at most {@code prefetch} batches ahead of the consumer: that bound is the
 * backpressure and the memory limit. Each batch's contents and augmentation seed depend only on
 * {@code (seed, epoch, batch index)}, and batches are handed out in index order, so the stream
 * is identical for any thread count or timing. A failure in a worker (other than a skipped
 * file) is rethrown by {@link Epoch#next()}: runtime exceptions and errors as they are, checked
 * ones wrapped; that ends the epoch. Closing an epoch cancels its outstanding work; closing the
 * sampler stops its threads (a read interrupted by closing is not counted as a skip). An
 * {@link Epoch} is consumed by one thread; the sampler and its stats are thread-safe.
 *
 * <p>Without an augmentation, the images of a batch must share one size (generated images do);
 * otherwise {@code next()} throws {@link IllegalStateException} naming both files. With one,
 * a batch whose images share a size is augmented in one call with the batch seed; otherwise each
 * image is augmented alone with a seed derived from the batch seed and its row.
 */
public final class MultiViewSampler implements AutoCloseable {
  /** How many skipped files {@link SamplerStats#firstSkips()} keeps. */
  public static final int RECORDED_SKIPS = 100;

  private static final Logger LOG = LoggerFactory.getLogger(MultiViewSampler.class);

  /** What one epoch covers; see the class comment. */
  public enum EpochMode {
    /** Every caption once per epoch, m of its images (the reference). */
    CAPTIONS,
    /** Every image at most once per epoch, as many groups per caption as fit. */
    IMAGES
  }

  private final CaptionDataset dataset;
  private final int captionsPerBatch;
  private final int viewsPerCaption;
  private final long seed;
  private final int threads;
  private final int prefetch;
  private final SimClrAugmentation augmentation;
  private final EpochMode epochMode;

  private final int[] sizes;
  private final int[] eligible;
  private final ExecutorService pool;

  private final AtomicLong decoded = new AtomicLong();
  private final AtomicLong skipped = new AtomicLong();
  private final Map<String, LongAdder> skippedByReason = new ConcurrentHashMap<>();
  private final List<SamplerStats.SkippedImage> firstSkips = new ArrayList<>();
  private final AtomicLong refilled = new AtomicLong();
  private final AtomicLong replaced = new AtomicLong();
  private final AtomicLong batchesOut = new AtomicLong();
  private final AtomicLong droppedGroups = new AtomicLong();

  private MultiViewSampler(Builder b, int[] sizes, int[] eligible) {
    this.dataset = b.dataset;
    this.captionsPerBatch = b.captionsPerBatch;
    this.viewsPerCaption = b.viewsPerCaption;
    this.seed = b.seed;
    this.threads = b.threads;
    this.prefetch = b.prefetch;
    this.augmentation = b.augmentation;
    this.epochMode = b.epochMode;
    this.sizes = sizes;
    this.eligible = eligible;
    AtomicInteger count = new AtomicInteger();
    ThreadFactory factory = r -> {
      Thread t = new Thread(r, "multiview-sampler-" + count.incrementAndGet());
      t.setDaemon(true); // a forgotten close() must not keep the JVM alive
      return t;
    };
    this.pool = Executors.newFixedThreadPool(threads, factory);
  }

  /** A builder with the paper's defaults: 6 views per caption, seed 0. */
  public static Builder builder() {
    return new Builder();
  }

  /** A builder holding this sampler's settings. */
  public Builder toBuilder() {
    Builder b = new Builder();
    b.dataset = dataset;
    b.captionsPerBatch = captionsPerBatch;
    b.viewsPerCaption = viewsPerCaption;
    b.seed = seed;
    b.threads = threads;
    b.prefetch = prefetch;
    b.augmentation = augmentation;
    b.epochMode = epochMode;
    return b;
  }

  public CaptionDataset dataset() {
    return dataset;
  }

  public int captionsPerBatch() {
    return captionsPerBatch;
  }

  public int viewsPerCaption() {
    return viewsPerCaption;
  }

  public long seed() {
    return seed;
  }

  public EpochMode epochMode() {
    return epochMode;
  }

  /** The number of full batches epoch {@code epoch} yields (its plan is computed, cheaply). */
  public int batchesPerEpoch(int epoch) {
    return plan(epoch).batches.size();
  }

  EpochPlan plan(int epoch) {
    return EpochPlan.create(sizes, eligible, captionsPerBatch, viewsPerCaption, seed, epoch,
        epochMode);
  }

  /** The counters so far. */
  public SamplerStats stats() {
    Map<String, Long> reasons = new java.util.TreeMap<>();
    skippedByReason.forEach((k, v) -> reasons.put(k, v.sum()));
    List<SamplerStats.SkippedImage> firsts;
    synchronized (firstSkips) {
      firsts = List.copyOf(firstSkips);
    }
    return new SamplerStats(decoded.get(), skipped.get(), reasons, firsts, refilled.get(),
        replaced.get(), batchesOut.get(), sizes.length - eligible.length, droppedGroups.get());
  }

  /**
   * Starts epoch {@code epoch}: an iterator over its batches that prefetches on the pool.
   * Several epochs may be open at once; they share the pool.
   */
  public Epoch epoch(int epoch) {
    return epoch(epoch, 0);
  }

  /**
   * Starts epoch {@code epoch} at batch {@code fromBatch}: it yields exactly the batches that
   * {@link #epoch(int)} yields from that index on, and never decodes or augments the ones
   * before it (each batch depends only on {@code (seed, epoch, batch index)}). For resuming a
   * run in the middle of an epoch; {@link Epoch#batches()} still counts the whole epoch.
   *
   * @throws IllegalArgumentException if {@code epoch < 0} or {@code fromBatch} is not in [0,
   *     batches of the epoch] (equal to it: an epoch with nothing left)
   */
  public Epoch epoch(int epoch, int fromBatch) {
    if (epoch < 0) {
      throw new IllegalArgumentException("epoch: expected >= 0, found " + epoch);
    }
    if (pool.isShutdown()) {
      throw new IllegalStateException("sampler: expected open, found closed");
    }
    EpochPlan plan = plan(epoch);
    if (fromBatch < 0 || fromBatch > plan.batches.size()) {
      throw new IllegalArgumentException("fromBatch: expected a batch index in [0, " + plan.batches.size()
          + "] (epoch " + epoch + " has " + plan.batches.size() + " batches), found " + fromBatch);
    }
    droppedGroups.addAndGet(plan.droppedGroups);
    return new Epoch(epoch, plan, fromBatch);
  }

  /** Stops the worker threads; open epochs' outstanding batches are cancelled. */
  @Override
  public void close() {
    pool.shutdownNow();
  }

  /** The batches of one epoch, in order; close it to cancel prefetched work. */
  public final class Epoch implements Iterator<MultiViewBatch>, AutoCloseable {
    private final int epoch;
    private final EpochPlan plan;
    private final ArrayDeque<Future<MultiViewBatch>> inFlight = new ArrayDeque<>();
    private int submitted;
    private boolean closed;

    private Epoch(int epoch, EpochPlan plan, int fromBatch) {
      this.epoch = epoch;
      this.plan = plan;
      this.submitted = fromBatch;
      fill();
    }

    private void fill() {
      while (!closed && inFlight.size() < prefetch && submitted < plan.batches.size()) {
        EpochPlan.Batch b = plan.batches.get(submitted++);
        inFlight.add(pool.submit(() -> assemble(epoch, b)));
      }
    }

    /** Batches handed to the pool so far: at most {@code prefetch} ahead of the consumer. */
    int submitted() {
      return submitted;
    }

    /** The number of batches this epoch yields in all. */
    public int batches() {
      return plan.batches.size();
    }

    @Override
    public boolean hasNext() {
      return !closed && !inFlight.isEmpty();
    }

    /**
     * The next batch, waiting for it if needed.
     *
     * @throws UncheckedIOException when a worker failed with a checked I/O exception
     * @throws IllegalStateException as described in the class comment
     */
    @Override
    public MultiViewBatch next() {
      if (!hasNext()) {
        throw new NoSuchElementException("epoch " + epoch + ": no more batches");
      }
      Future<MultiViewBatch> f = inFlight.poll();
      fill();
      try {
        MultiViewBatch b = f.get();
        batchesOut.incrementAndGet();
        return b;
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
        close();
        throw new CancellationException("interrupted while waiting for batch of epoch " + epoch);
      } catch (ExecutionException e) {
        close();
        Throwable cause = e.getCause();
        if (cause instanceof RuntimeException re) {
          throw re;
        }
        if (cause instanceof Error err) {
          throw err;
        }
        if (cause instanceof IOException io) {
          throw new UncheckedIOException(io);
        }
        throw new IllegalStateException(cause);
      }
    }

    @Override
    public void close() {
      closed = true;
      for (Future<MultiViewBatch> f : inFlight) {
        f.cancel(true);
      }
      inFlight.clear();
    }
  }

  // ---------------------------------------------------------------------------------------
  // Worker side.

  private MultiViewBatch assemble(int epoch, EpochPlan.Batch plan) {
    int n = captionsPerBatch;
    int m = viewsPerCaption;
    long batchSeed = Seeds.mix(seed, epoch, plan.index());
    INDArray[][] pixels = new INDArray[n][];
    Path[][] files = new Path[n][];
    int[] captionOf = new int[n];
    Set<Integer> inBatch = new HashSet<>();
    for (EpochPlan.Slot s : plan.slots()) {
      inBatch.add(s.caption());
    }
    SplittableRandom replacementRng = null;
    for (int i = 0; i < n; i++) {
      EpochPlan.Slot slot = plan.slots().get(i);
      List<Path> images = dataset.captions().get(slot.caption()).images();
      INDArray[] got = new INDArray[m];
      Path[] gotPaths = new Path[m];
      int filled = 0;
      for (int idx : slot.images()) {
        Path p = images.get(idx);
        INDArray x = tryRead(p);
        if (x != null) {
          got[filled] = x;
          gotPaths[filled++] = p;
        }
      }
      for (int s = 0; filled < m && s < slot.spares().length; s++) {
        Path p = images.get(slot.spares()[s]);
        INDArray x = tryRead(p);
        if (x != null) {
          got[filled] = x;
          gotPaths[filled++] = p;
          refilled.incrementAndGet();
        }
      }
      int caption = slot.caption();
      if (filled < m) {
        if (replacementRng == null) {
          replacementRng = new SplittableRandom(Seeds.mix(seed, epoch, plan.index(), 0x5EEDL));
        }
        int[] candidates = eligible.clone();
        EpochPlan.shuffle(candidates, replacementRng);
        boolean done = false;
        for (int c : candidates) {
          if (inBatch.contains(c)) {
            continue;
          }
          List<Path> cand = dataset.captions().get(c).images();
          int[] perm = EpochPlan.permutation(cand.size(), replacementRng);
          INDArray[] alt = new INDArray[m];
          Path[] altPaths = new Path[m];
          int k = 0;
          for (int j = 0; j < perm.length && k < m; j++) {
            INDArray x = tryRead(cand.get(perm[j]));
            if (x != null) {
              alt[k] = x;
              altPaths[k++] = cand.get(perm[j]);
            }
          }
          if (k == m) {
            LOG.warn("epoch {} batch {}: caption {} has fewer than {} readable images;"
                + " replaced by caption {}", epoch, plan.index(),
                dataset.captions().get(caption).id(), m, dataset.captions().get(c).id());
            inBatch.add(c);
            caption = c;
            got = alt;
            gotPaths = altPaths;
            replaced.incrementAndGet();
            done = true;
            break;
          }
        }
        if (!done) {
          throw new IllegalStateException("epoch " + epoch + " batch " + plan.index()
              + ": expected a caption with " + m + " readable images to replace caption "
              + dataset.captions().get(caption).id() + ", found none");
        }
      }
      pixels[i] = got;
      files[i] = gotPaths;
      captionOf[i] = caption;
    }
    // View-major: row v * n + i is view v of caption i, as the reference's
    // torch.split(img_cat, 3, dim=1) followed by torch.cat(augs, dim=0) lays them out.
    INDArray[] rows = new INDArray[n * m];
    int[] positional = new int[n * m];
    int[] captionIndices = new int[n * m];
    List<Path> paths = new ArrayList<>(n * m);
    for (int v = 0; v < m; v++) {
      for (int i = 0; i < n; i++) {
        rows[v * n + i] = pixels[i][v];
        positional[v * n + i] = i;
        captionIndices[v * n + i] = captionOf[i];
        paths.add(files[i][v]);
      }
    }
    List<String> ids = new ArrayList<>(n);
    for (int i = 0; i < n; i++) {
      ids.add(dataset.captions().get(captionOf[i]).id());
    }
    INDArray images = stackAndAugment(rows, paths, batchSeed);
    return new MultiViewBatch(images, positional, captionIndices, ids, paths, epoch,
        plan.index());
  }

  private INDArray stackAndAugment(INDArray[] rows, List<Path> paths, long batchSeed) {
    boolean sameShape = true;
    for (int r = 1; r < rows.length; r++) {
      if (!Arrays.equals(rows[r].shape(), rows[0].shape())) {
        sameShape = false;
        if (augmentation == null) {
          throw new IllegalStateException("batch images: expected one size without an"
              + " augmentation, found " + Arrays.toString(rows[0].shape()) + " for "
              + paths.get(0) + " and " + Arrays.toString(rows[r].shape()) + " for "
              + paths.get(r));
        }
        break;
      }
    }
    if (sameShape) {
      INDArray batch = Nd4j.stack(0, rows).castTo(DataType.FLOAT);
      return augmentation == null ? batch : augmentation.apply(batch, batchSeed);
    }
    INDArray[] out = new INDArray[rows.length];
    for (int r = 0; r < rows.length; r++) {
      INDArray one = rows[r].reshape(1, rows[r].size(0), rows[r].size(1), rows[r].size(2));
      out[r] = augmentation.apply(one.castTo(DataType.FLOAT), Seeds.mix(batchSeed, r));
    }
    return Nd4j.concat(0, out);
  }

  private INDArray tryRead(Path p) {
    try {
      INDArray x = Images.read(p);
      decoded.incrementAndGet();
      return x;
    } catch (IOException e) {
      if (e instanceof java.nio.channels.ClosedByInterruptException
          || Thread.currentThread().isInterrupted()) {
        // close() interrupted this worker: the file is fine, so it must not count as skipped.
        throw new CancellationException("batch assembly cancelled while reading " + p);
      }
      String reason = e.getClass().getSimpleName();
      skipped.incrementAndGet();
      skippedByReason.computeIfAbsent(reason, k -> new LongAdder()).increment();
      synchronized (firstSkips) {
        if (firstSkips.size() < RECORDED_SKIPS) {
          firstSkips.add(new SamplerStats.SkippedImage(p, String.valueOf(e.getMessage())));
        }
      }
      LOG.warn("skipping unreadable image {}: {}", p, e.toString());
      return null;
    }
  }

  /** Settings for a {@link MultiViewSampler}. */
  public static final class Builder {
    private CaptionDataset dataset;
    private int captionsPerBatch = 32;
    private int viewsPerCaption = 6;
    private long seed;
    private int threads = Math.max(1, Math.min(4, Runtime.getRuntime().availableProcessors()));
    private int prefetch = 2;
    private SimClrAugmentation augmentation;
    private EpochMode epochMode = EpochMode.CAPTIONS;

    private Builder() {}

    /** The dataset (required). */
    public Builder dataset(CaptionDataset dataset) {
      this.dataset = dataset;
      return this;
    }

    /** {@code n}, captions per batch; default 32. */
    public Builder captionsPerBatch(int n) {
      this.captionsPerBatch = n;
      return this;
    }

    /** {@code m}, images (views) per caption; default 6, StableRep's. */
    public Builder viewsPerCaption(int m) {
      this.viewsPerCaption = m;
      return this;
    }

    /** The seed of every epoch's plan and of the augmentation; default 0. */
    public Builder seed(long seed) {
      this.seed = seed;
      return this;
    }

    /** Worker threads decoding and augmenting; default min(4, cores). */
    public Builder threads(int threads) {
      this.threads = threads;
      return this;
    }

    /** Batches assembled ahead of the consumer at most; default 2. */
    public Builder prefetch(int prefetch) {
      this.prefetch = prefetch;
      return this;
    }

    /** Applied once per image with a per-batch seed; default none (raw pixels in [0, 1]). */
    public Builder augmentation(SimClrAugmentation augmentation) {
      this.augmentation = augmentation;
      return this;
    }

    /** Default {@link EpochMode#CAPTIONS}, as the reference. */
    public Builder epochMode(EpochMode epochMode) {
      this.epochMode = epochMode;
      return this;
    }

    /** Validates the settings and starts the worker pool. */
    public MultiViewSampler build() {
      if (dataset == null) {
        throw new IllegalArgumentException("dataset: expected a CaptionDataset, found null");
      }
      if (epochMode == null) {
        throw new IllegalArgumentException("epochMode: expected CAPTIONS or IMAGES, found null");
      }
      if (captionsPerBatch < 1) {
        throw new IllegalArgumentException(
            "captionsPerBatch: expected >= 1, found " + captionsPerBatch);
      }
      if (viewsPerCaption < 1) {
        throw new IllegalArgumentException(
            "viewsPerCaption: expected >= 1, found " + viewsPerCaption);
      }
      if ((long) captionsPerBatch * viewsPerCaption > Integer.MAX_VALUE) {
        throw new IllegalArgumentException("captionsPerBatch * viewsPerCaption: expected <= "
            + Integer.MAX_VALUE + ", found " + (long) captionsPerBatch * viewsPerCaption);
      }
      if (threads < 1) {
        throw new IllegalArgumentException("threads: expected >= 1, found " + threads);
      }
      if (prefetch < 1) {
        throw new IllegalArgumentException("prefetch: expected >= 1, found " + prefetch);
      }
      List<CaptionGroup> captions = dataset.captions();
      int[] sizes = new int[captions.size()];
      int eligibleCount = 0;
      for (int c = 0; c < sizes.length; c++) {
        sizes[c] = captions.get(c).size();
        if (sizes[c] >= viewsPerCaption) {
          eligibleCount++;
        }
      }
      int[] eligible = new int[eligibleCount];
      for (int c = 0, e = 0; c < sizes.length; c++) {
        if (sizes[c] >= viewsPerCaption) {
          eligible[e++] = c;
        }
      }
      if (eligibleCount < captionsPerBatch) {
        throw new IllegalArgumentException("dataset: expected at least captionsPerBatch = "
            + captionsPerBatch + " captions with >= viewsPerCaption = " + viewsPerCaption
            + " images, found " + eligibleCount + " (of " + sizes.length + ")");
      }
      if (sizes.length > eligibleCount) {
        LOG.info("{} of {} captions have fewer than {} images and are excluded",
            sizes.length - eligibleCount, sizes.length, viewsPerCaption);
      }
      return new MultiViewSampler(this, sizes, eligible);
    }
  }
}
