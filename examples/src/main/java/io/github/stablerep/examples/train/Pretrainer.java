package io.github.stablerep.examples.train;

import static com.google.common.base.Preconditions.checkArgument;

import io.github.stablerep.augment.SimClrAugmentation;
import io.github.stablerep.augment.data.CaptionDataset;
import io.github.stablerep.augment.data.CaptionGroup;
import io.github.stablerep.augment.data.MultiViewBatch;
import io.github.stablerep.augment.data.MultiViewSampler;
import io.github.stablerep.core.loss.MultiPositiveContrastiveLoss;
import io.github.stablerep.core.optim.AdamW;
import io.github.stablerep.core.optim.WarmupCosineSchedule;
import io.github.stablerep.core.train.TrainStep;
import io.github.stablerep.core.train.TrainingCheckpoint;
import io.github.stablerep.models.vit.ProjectionHead;
import io.github.stablerep.models.vit.ProjectionHeadGraph;
import io.github.stablerep.models.vit.VisionTransformer;
import io.github.stablerep.models.vit.VitGraph;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CancellationException;
import java.util.function.BooleanSupplier;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * A reusable StableRep pre-training loop: caption-grouped batches from a {@link
 * MultiViewSampler} ({@code n} captions × {@code m} images, each augmented once), a {@link
 * VisionTransformer} with a {@link ProjectionHead}, the {@link MultiPositiveContrastiveLoss},
 * and {@link AdamW} on a {@link WarmupCosineSchedule}, checkpointed through {@link
 * TrainingCheckpoint}.
 *
 * <pre>{@code
 * Pretrainer.Result r = Pretrainer.builder()
 *     .vit(VisionTransformer.builder().imageSize(28).patchSize(4).width(128).depth(4).heads(4).build())
 *     .dataset(CaptionDataset.fromManifest(manifest)).captionsPerBatch(32).viewsPerCaption(6)
 *     .augmentation(SimClrAugmentation.builder().size(28).build())
 *     .steps(300).checkpoint(Path.of("run/ckpt.safetensors")).build()
 *     .train((p) -> System.out.println(p), () -> false);
 * }</pre>
 *
 * <p><b>SimCLR</b> is the loss's m = 2 special case on captions of one image: {@link
 * #singleImageCaptions} turns every image into its own caption listed twice, so a batch holds
 * two independently augmented views of each image.
 *
 * <p><b>Steps and epochs.</b> The run lasts {@link Builder#steps} optimiser steps, or {@link
 * Builder#epochs} times the sampler's batches per epoch; step {@code s} takes batch {@code s mod
 * B} of epoch {@code s / B}. Each batch's content and augmentation are a function of (seed,
 * epoch, batch index) (the sampler's contract), so the stream does not depend on where a run
 * was resumed.
 *
 * <p><b>Resume, bit for bit.</b> Every {@code checkpointEvery} steps, at the end, and when
 * cancelled, the weights, the head's BatchNorm running statistics, AdamW's moments and step
 * count and a fingerprint of the configuration are written atomically to {@code checkpoint}, and
 * the losses since the previous checkpoint are appended to the loss history beside it ({@link
 * LossHistory}: {@code <checkpoint>.losses}, float64, of which the checkpoint's step count
 * says how many entries are valid). {@link #train} resumes from that file when it exists
 * (refusing one whose fingerprint differs, naming both), starting the current epoch at the
 * first batch not yet consumed without decoding the ones before it. Drop-path noise is drawn
 * from (seed, step), so an interrupted run resumed this way ends with exactly the weights of an
 * uninterrupted one on the same machine and backend (tested).
 *
 * <p><b>One step</b> is a {@link TrainStep} on the training graph: the ViT's drop-path noise
 * ({@link VisionTransformer#dropPathRate()}) fed from (seed, step), the gradients, loss and the
 * head's BatchNorm batch statistics from one pass, AdamW, and the running statistics updated.
 *
 * <p>Immutable; {@link #train} builds a fresh graph each call and is not meant to run twice at
 * once on the same checkpoint file.
 */
public final class Pretrainer {

  /** Name of the image placeholder in {@link Result#graph()}. */
  public static final String IMAGES = "images";
  /** Name of the caption-id placeholder. */
  public static final String IDS = "ids";
  /** Name of the loss variable. */
  public static final String LOSS = "loss";
  static final String FINGERPRINT = "pretrainer.fingerprint";
  /**
   * Metadata entry where checkpoints before {@link LossHistory} kept the loss history, as
   * comma-joined {@code Double.toString} values; read on resume when there is no history file.
   */
  static final String LEGACY_LOSSES = "pretrainer.losses";

  /** One step's progress, reported after the optimiser step. */
  public record Progress(
      long step, long totalSteps, double loss, double learningRate, double imagesPerSecond, Duration eta) {
    @Override
    public String toString() {
      return String.format("step %d/%d loss %.4f lr %.3g %.1f img/s eta %d:%02d", step, totalSteps, loss,
          learningRate, imagesPerSecond, eta.toMinutes(), eta.toSecondsPart());
    }
  }

  /** Receives {@link Progress} on the training thread. */
  @FunctionalInterface
  public interface Listener {
    void onStep(Progress progress);
  }

  /**
   * A finished run.
   *
   * @param graph the training graph with the trained weights; {@link #IMAGES} in, {@code
   *     featureName} out (the ViT's class token), usable with eval's {@code FeatureExtractor}
   * @param featureName the class-token variable of {@code graph}
   * @param losses the loss of every step of the whole run, resumed parts included
   * @param resumedFromStep the step the run started from (0 for a fresh run)
   * @param trainTime wall time of this call's training steps (not the resumed-from part)
   */
  public record Result(SameDiff graph, String featureName, double[] losses, long resumedFromStep,
      Duration trainTime) {
    /** The ViT's weights in timm's layout. */
    public Map<String, INDArray> encoderWeights(VisionTransformer vit) {
      return vit.exportWeights(graph, io.github.stablerep.models.vit.WeightLayout.TIMM);
    }
  }

  private final VisionTransformer vit;
  private final ProjectionHead head;
  private final double temperature;
  private final CaptionDataset dataset;
  private final int captionsPerBatch;
  private final int viewsPerCaption;
  private final SimClrAugmentation augmentation;
  private final double learningRate;
  private final double minLearningRate;
  private final double warmupFraction;
  private final double weightDecay;
  private final long steps;
  private final double epochs;
  private final long seed;
  private final Path checkpoint;
  private final long checkpointEvery;
  private final int threads;

  private Pretrainer(Builder b, ProjectionHead head, double learningRate) {
    this.vit = b.vit;
    this.head = head;
    this.temperature = b.temperature;
    this.dataset = b.dataset;
    this.captionsPerBatch = b.captionsPerBatch;
    this.viewsPerCaption = b.viewsPerCaption;
    this.augmentation = b.augmentation;
    this.learningRate = learningRate;
    this.minLearningRate = b.minLearningRate;
    this.warmupFraction = b.warmupFraction;
    this.weightDecay = b.weightDecay;
    this.steps = b.steps;
    this.epochs = b.epochs;
    this.seed = b.seed;
    this.checkpoint = b.checkpoint;
    this.checkpointEvery = b.checkpointEvery;
    this.threads = b.threads;
  }

  public static Builder builder() {
    return new Builder();
  }

  /**
   * SimCLR's data as captions: one caption per image (id {@code <caption id>/<index>}), the
   * image listed twice, so that {@code viewsPerCaption(2)} draws two views of it.
   */
  public static CaptionDataset singleImageCaptions(CaptionDataset dataset) {
    checkArgument(dataset != null, "dataset: expected a CaptionDataset, found null");
    List<CaptionGroup> out = new ArrayList<>();
    for (CaptionGroup g : dataset.captions()) {
      for (int i = 0; i < g.images().size(); i++) {
        Path p = g.images().get(i);
        out.add(new CaptionGroup(g.id() + "/" + i, g.caption(), List.of(p, p)));
      }
    }
    return CaptionDataset.of(out);
  }

  /** Images per optimiser step ({@code n · m}). */
  public int batchSize() {
    return captionsPerBatch * viewsPerCaption;
  }

  /** The number of optimiser steps of the whole run (opens no threads). */
  public long totalSteps() {
    if (steps > 0) {
      return steps;
    }
    return Math.max(1, Math.round(epochs * stepsPerEpoch()));
  }

  /** Batches per epoch for this dataset and batch shape. */
  public int stepsPerEpoch() {
    try (MultiViewSampler s = sampler(1)) {
      return s.batchesPerEpoch(0);
    }
  }

  MultiViewSampler sampler(int threadCount) {
    return MultiViewSampler.builder().dataset(dataset).captionsPerBatch(captionsPerBatch)
        .viewsPerCaption(viewsPerCaption).augmentation(augmentation).seed(seed).threads(threadCount).prefetch(2)
        .build();
  }

  /**
   * The configuration in words; a checkpoint written under another fingerprint is refused on
   * resume, since continuing it would silently mix two runs.
   */
  public String fingerprint() {
    return "vit=" + vit + "; head=" + head + "; temperature=" + temperature + "; captions=" + dataset.captions().size()
        + "; n=" + captionsPerBatch + "; m=" + viewsPerCaption + "; augmentation=" + augmentationKey()
        + "; lr=" + learningRate + "; minLr=" + minLearningRate + "; warmup=" + warmupFraction + "; wd=" + weightDecay
        + "; steps=" + totalSteps() + "; seed=" + seed;
  }

  private String augmentationKey() {
    return augmentation == null ? "none" : "size " + augmentation.size() + ", kernel " + augmentation.blurKernelSize();
  }

  /** A graph with the model, head and loss, fresh (seeded) weights; for tests and inspection. */
  Graph buildGraph() {
    SameDiff sd = SameDiff.create();
    SDVariable images = sd.placeHolder(IMAGES, DataType.FLOAT, -1, 3, vit.imageHeight(), vit.imageWidth());
    SDVariable ids = sd.placeHolder(IDS, DataType.INT64, -1);
    // the training graph: drop path (and dropout) are active only here, fed by TrainStep
    VitGraph g = vit.define(sd, images, true);
    ProjectionHeadGraph h = head.define(sd, g.classToken(), viewsPerCaption, true);
    MultiPositiveContrastiveLoss.builder().temperature(temperature).build().define(sd, LOSS, h.output(), ids);
    sd.setLossVariables(LOSS);
    List<String> params = new ArrayList<>(g.variableNames());
    params.addAll(h.parameterNames());
    return new Graph(sd, g, h, params);
  }

  record Graph(SameDiff sd, VitGraph vit, ProjectionHeadGraph head, List<String> parameters) {}

  private AdamW optimizer(long total) {
    double warmup = warmupFraction * total;
    WarmupCosineSchedule schedule = WarmupCosineSchedule.builder().baseLr(learningRate).minLr(minLearningRate)
        .warmupSteps(warmup).totalSteps(Math.max(total, warmup + 1)).build();
    return AdamW.builder().learningRate(schedule).weightDecay(weightDecay).build();
  }

  /**
   * Trains, resuming from {@code checkpoint} when it exists.
   *
   * @param listener progress after each step; may be null
   * @param cancelled polled before each step; when it turns true a checkpoint is written (if a
   *     path is set) and a {@link CancellationException} is thrown
   * @throws IOException if the checkpoint cannot be read or written
   * @throws IllegalArgumentException if the checkpoint belongs to another configuration
   */
  public Result train(Listener listener, BooleanSupplier cancelled) throws IOException {
    Listener l = listener == null ? p -> { } : listener;
    BooleanSupplier stop = cancelled == null ? () -> false : cancelled;
    long total = totalSteps();
    Graph graph = buildGraph();
    SameDiff sd = graph.sd();
    AdamW adamW = optimizer(total);
    String fingerprint = fingerprint();
    List<Double> losses = new ArrayList<>();
    long step = 0;
    LossHistory history = checkpoint == null ? null : new LossHistory(checkpoint);
    if (checkpoint != null && Files.exists(checkpoint)) {
      TrainingCheckpoint ck = TrainingCheckpoint.read(checkpoint);
      String found = ck.metadata().get(FINGERPRINT);
      checkArgument(fingerprint.equals(found),
          "checkpoint %s: expected a run with configuration [%s], found [%s]; delete it or use another folder",
          checkpoint, fingerprint, found);
      ck.restore(sd, adamW);
      step = ck.step();
      losses.addAll(history.resume(step, ck.metadata().get(LEGACY_LOSSES)));
    } else if (history != null) {
      history.start();
    }
    long resumedFrom = step;
    long startNanos = System.nanoTime();
    if (step >= total) {
      return new Result(sd, graph.vit().classToken().name(), toArray(losses), resumedFrom, Duration.ZERO);
    }
    TrainStep trainStep = TrainStep.builder().graph(sd).loss(LOSS).parts(graph.vit(), graph.head())
        .optimizer(adamW).noiseSeed(seed).build();
    int batch = batchSize();
    long trainedHere = 0;
    try (MultiViewSampler sampler = sampler(threads)) {
      int perEpoch = sampler.batchesPerEpoch(0);
      checkArgument(perEpoch > 0, "dataset: expected at least one full batch of %s captions x %s views per epoch, "
          + "found none (%s captions)", captionsPerBatch, viewsPerCaption, dataset.captions().size());
      while (step < total) {
        int epoch = (int) (step / perEpoch);
        // batches of this epoch consumed before the resume point are neither decoded nor augmented
        try (MultiViewSampler.Epoch it = sampler.epoch(epoch, (int) (step % perEpoch))) {
          while (it.hasNext() && step < total) {
            if (stop.getAsBoolean()) {
              save(sd, adamW, step, epoch, history, losses, fingerprint);
              throw new CancellationException("pre-training cancelled at step " + step + " of " + total);
            }
            MultiViewBatch b = it.next();
            long[] ids = new long[b.positionalIds().length];
            for (int i = 0; i < ids.length; i++) {
              ids[i] = b.positionalIds()[i];
            }
            TrainStep.Result r = trainStep.run(Map.of(IMAGES, b.images(), IDS, Nd4j.createFromArray(ids)));
            losses.add(r.loss());
            step++;
            trainedHere++;
            double seconds = (System.nanoTime() - startNanos) / 1e9;
            double rate = trainedHere * batch / Math.max(seconds, 1e-9);
            Duration eta = Duration.ofMillis(Math.round(1000.0 * (total - step) * batch / Math.max(rate, 1e-9)));
            l.onStep(new Progress(step, total, r.loss(), r.learningRate(), rate, eta));
            if (checkpoint != null && (step % checkpointEvery == 0 || step == total)) {
              save(sd, adamW, step, epoch, history, losses, fingerprint);
            }
          }
        }
      }
    }
    return new Result(sd, graph.vit().classToken().name(), toArray(losses), resumedFrom,
        Duration.ofNanos(System.nanoTime() - startNanos));
  }

  private void save(SameDiff sd, AdamW adamW, long step, long epoch, LossHistory history, List<Double> losses,
      String fingerprint) throws IOException {
    if (checkpoint == null) {
      return;
    }
    Path parent = checkpoint.toAbsolutePath().getParent();
    if (parent != null) {
      Files.createDirectories(parent);
    }
    // history first: entries past the checkpoint's step count are ignored (and dropped) on resume
    history.append(losses);
    // the configs rebuild the models from the file alone (the CLI's embed and export read them)
    TrainingCheckpoint.capture(sd, adamW).step(step).epoch(epoch).rngSeed(seed)
        .modelConfig(vit.name(), vit.toConfig()).modelConfig(headConfigName(head), head.toConfig())
        .metadata(Map.of(FINGERPRINT, fingerprint))
        .build().write(checkpoint);
  }

  /** The head's name in a checkpoint's configs: its variable prefix without the final dot. */
  static String headConfigName(ProjectionHead head) {
    String p = head.variablePrefix();
    String name = p.endsWith(".") ? p.substring(0, p.length() - 1) : p;
    return name.isEmpty() ? "projection_head" : name;
  }

  private static double[] toArray(List<Double> l) {
    return l.stream().mapToDouble(Double::doubleValue).toArray();
  }

  public VisionTransformer vit() { return vit; }
  public ProjectionHead head() { return head; }
  public double temperature() { return temperature; }
  public CaptionDataset dataset() { return dataset; }
  public int captionsPerBatch() { return captionsPerBatch; }
  public int viewsPerCaption() { return viewsPerCaption; }
  public SimClrAugmentation augmentation() { return augmentation; }
  public double learningRate() { return learningRate; }
  public long seed() { return seed; }
  public Path checkpoint() { return checkpoint; }
  public long checkpointEvery() { return checkpointEvery; }

  /**
   * Defaults: the paper's temperature 0.1, m = 6, AdamW weight decay 0.1, 5 % warm-up then
   * cosine to 0, a peak lr by the linear rule {@code 2e-4 · batch / 256} unless set, seed 0, one
   * epoch, checkpoints every 50 steps. The model, head and dataset must be set; the head's input
   * dimension must equal the ViT's width.
   */
  public static final class Builder {
    private VisionTransformer vit;
    private ProjectionHead head;
    private double temperature = MultiPositiveContrastiveLoss.DEFAULT_TEMPERATURE;
    private CaptionDataset dataset;
    private int captionsPerBatch = 32;
    private int viewsPerCaption = 6;
    private SimClrAugmentation augmentation;
    private double learningRate = Double.NaN;
    private double minLearningRate = 0;
    private double warmupFraction = 0.05;
    private double weightDecay = AdamW.DEFAULT_WEIGHT_DECAY;
    private long steps = 0;
    private double epochs = 1;
    private long seed = 0;
    private Path checkpoint;
    private long checkpointEvery = 50;
    private int threads = Math.max(1, Math.min(2, Runtime.getRuntime().availableProcessors()));

    private Builder() {}

    public Builder vit(VisionTransformer v) { this.vit = v; return this; }
    /** Default: a 3-layer BN head from the ViT's width, hidden 4·width, output 128. */
    public Builder head(ProjectionHead v) { this.head = v; return this; }
    public Builder temperature(double v) { this.temperature = v; return this; }
    public Builder dataset(CaptionDataset v) { this.dataset = v; return this; }
    /** {@code n}: captions per batch. */
    public Builder captionsPerBatch(int v) { this.captionsPerBatch = v; return this; }
    /** {@code m}: images (one augmented view each) per caption; 2 with {@link #singleImageCaptions} is SimCLR. */
    public Builder viewsPerCaption(int v) { this.viewsPerCaption = v; return this; }
    /** Applied once per image; its size must equal the ViT's input. Required. */
    public Builder augmentation(SimClrAugmentation v) { this.augmentation = v; return this; }
    /** Peak (post-warm-up) learning rate. */
    public Builder learningRate(double v) { this.learningRate = v; return this; }
    public Builder minLearningRate(double v) { this.minLearningRate = v; return this; }
    /** Fraction of the run spent in linear warm-up, in [0, 1). */
    public Builder warmupFraction(double v) { this.warmupFraction = v; return this; }
    public Builder weightDecay(double v) { this.weightDecay = v; return this; }
    /** Optimiser steps; overrides {@link #epochs} when positive. */
    public Builder steps(long v) { this.steps = v; return this; }
    /** Length in epochs of the sampler (fractional allowed) when {@link #steps} is 0. */
    public Builder epochs(double v) { this.epochs = v; return this; }
    public Builder seed(long v) { this.seed = v; return this; }
    /** Checkpoint file (safetensors); null for none. */
    public Builder checkpoint(Path v) { this.checkpoint = v; return this; }
    public Builder checkpointEvery(long v) { this.checkpointEvery = v; return this; }
    /** Threads decoding and augmenting batches. */
    public Builder threads(int v) { this.threads = v; return this; }

    public Pretrainer build() {
      checkArgument(vit != null, "vit: expected a VisionTransformer, found null");
      checkArgument(dataset != null, "dataset: expected a CaptionDataset, found null");
      checkArgument(augmentation != null, "augmentation: expected a SimClrAugmentation, found null");
      checkArgument(augmentation.size() == vit.imageHeight() && augmentation.size() == vit.imageWidth(),
          "augmentation: expected output size %s x %s (the ViT's input), found %s", vit.imageHeight(), vit.imageWidth(),
          augmentation.size());
      // defaults resolved into locals: build() leaves the builder as the caller set it
      ProjectionHead head = this.head != null ? this.head
          : ProjectionHead.builder().inputDim(vit.width()).hiddenDim(4 * vit.width()).outputDim(128).seed(vit.seed())
              .build();
      checkArgument(head.inputDim() == vit.width(), "head: expected inputDim %s (the ViT's width), found %s",
          vit.width(), head.inputDim());
      checkArgument(temperature > 0 && Double.isFinite(temperature), "temperature: expected > 0, found %s",
          temperature);
      checkArgument(captionsPerBatch >= 2, "captionsPerBatch: expected >= 2 (negatives are other captions), found %s",
          captionsPerBatch);
      checkArgument(viewsPerCaption >= 2, "viewsPerCaption: expected >= 2 (positives are other views), found %s",
          viewsPerCaption);
      double learningRate = Double.isNaN(this.learningRate)
          ? WarmupCosineSchedule.baseLr(WarmupCosineSchedule.STABLEREP_BLR, captionsPerBatch * viewsPerCaption)
          : this.learningRate;
      checkArgument(learningRate > 0 && Double.isFinite(learningRate), "learningRate: expected > 0, found %s",
          learningRate);
      checkArgument(minLearningRate >= 0 && minLearningRate <= learningRate,
          "minLearningRate: expected in [0, learningRate = %s], found %s", learningRate, minLearningRate);
      checkArgument(warmupFraction >= 0 && warmupFraction < 1, "warmupFraction: expected in [0, 1), found %s",
          warmupFraction);
      checkArgument(weightDecay >= 0, "weightDecay: expected >= 0, found %s", weightDecay);
      checkArgument(steps >= 0, "steps: expected >= 0 (0: use epochs), found %s", steps);
      checkArgument(steps > 0 || (epochs > 0 && Double.isFinite(epochs)), "epochs: expected > 0, found %s", epochs);
      checkArgument(checkpointEvery >= 1, "checkpointEvery: expected >= 1, found %s", checkpointEvery);
      checkArgument(threads >= 1, "threads: expected >= 1, found %s", threads);
      return new Pretrainer(this, head, learningRate);
    }
  }
}
