package io.github.stablerep.examples.cli;

import io.github.stablerep.augment.SimClrAugmentation;
import io.github.stablerep.augment.data.CaptionDataset;
import io.github.stablerep.examples.ConsoleProgress;
import io.github.stablerep.examples.GenerationJob;
import io.github.stablerep.examples.train.Pretrainer;
import io.github.stablerep.models.vit.ProjectionHead;
import io.github.stablerep.models.vit.VisionTransformer;
import io.github.stablerep.models.vit.VitPreset;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** A caption dataset to a trained checkpoint, through the examples' {@link Pretrainer}. */
@Command(
    name = "pretrain",
    description = {
      "Pre-train a ViT with StableRep's multi-positive contrastive loss: each batch holds n captions x m"
          + " images, each image augmented once (StableRep's recipe), a projection head, AdamW with"
          + " warm-up and cosine decay. --simclr trains SimCLR instead (two views of each image).",
      "Data: a caption manifest (caption_id<TAB>caption<TAB>path, as 'generate' writes), a folder"
          + " holding manifest.tsv, or a folder with one sub-folder of images per caption.",
      "Resumable: the checkpoint is written every --checkpoint-every steps, at the end and on Ctrl-C;"
          + " rerunning the same command continues from it (a checkpoint of other settings is refused)."
          + " Loss, learning rate, images/s and ETA are shown on stderr."
    })
final class PretrainCommand extends CliCommand {

  @Option(names = "--data", required = true, paramLabel = "PATH",
      description = "Caption manifest (.tsv), a folder with manifest.tsv, or a folder of caption folders.")
  Path data;

  @Mixin PathOptions paths;

  @Option(names = "--checkpoint", required = true, paramLabel = "FILE",
      description = "Checkpoint to write (safetensors) and to resume from when it exists.")
  Path checkpoint;

  @Option(names = "--preset", defaultValue = "B_16", paramLabel = "NAME",
      description = "ViT size: ${COMPLETION-CANDIDATES}; --width/--depth/--heads/--patch-size override it.")
  VitPreset preset;

  @Option(names = "--image-size", defaultValue = "224", paramLabel = "PX", description = "Input (crop) size.")
  int imageSize;

  @Option(names = "--patch-size", paramLabel = "PX", description = "Patch size (default: the preset's).")
  Integer patchSize;

  @Option(names = "--width", paramLabel = "D", description = "Embedding width (default: the preset's).")
  Integer width;

  @Option(names = "--depth", paramLabel = "N", description = "Blocks (default: the preset's).")
  Integer depth;

  @Option(names = "--heads", paramLabel = "N", description = "Attention heads (default: the preset's).")
  Integer heads;

  @Option(names = "--drop-path", defaultValue = "0.0", paramLabel = "R",
      description = "Stochastic depth rate of the last block (StableRep's ViT-B/16: 0.1).")
  double dropPath;

  @Option(names = "--head-hidden", defaultValue = "4096", paramLabel = "D",
      description = "Projection head hidden width (StableRep: 4096).")
  int headHidden;

  @Option(names = "--head-dim", defaultValue = "256", paramLabel = "D",
      description = "Projection head output size (StableRep: 256).")
  int headDim;

  @Option(names = {"-n", "--captions-per-batch"}, defaultValue = "32", paramLabel = "N",
      description = "Captions per batch (n).")
  int captionsPerBatch;

  @Option(names = {"-m", "--views"}, defaultValue = "6", paramLabel = "M",
      description = "Images per caption (m); StableRep uses 6. Ignored with --simclr (m = 2).")
  int views;

  @Option(names = "--simclr", defaultValue = "false",
      description = "SimCLR: every image its own caption, two augmented views (the loss's m = 2 case).")
  boolean simclr;

  @Option(names = "--steps", defaultValue = "0", paramLabel = "N",
      description = "Optimiser steps (0: run --epochs epochs).")
  long steps;

  @Option(names = "--epochs", defaultValue = "1", paramLabel = "E", description = "Epochs when --steps is 0.")
  double epochs;

  @Option(names = "--lr", paramLabel = "LR",
      description = "Peak learning rate (default: 2e-4 x batch / 256, StableRep's rule).")
  Double lr;

  @Option(names = "--min-lr", defaultValue = "0.0", paramLabel = "LR", description = "Final learning rate.")
  double minLr;

  @Option(names = "--warmup", defaultValue = "0.05", paramLabel = "F", description = "Warm-up fraction of the run.")
  double warmup;

  @Option(names = "--weight-decay", defaultValue = "0.1", paramLabel = "WD",
      description = "AdamW weight decay (not on biases and norms).")
  double weightDecay;

  @Option(names = "--temperature", defaultValue = "0.1", paramLabel = "T", description = "Loss temperature.")
  double temperature;

  @Option(names = "--seed", defaultValue = "0", paramLabel = "S",
      description = "Seed of the weights, batches and augmentation.")
  long seed;

  @Option(names = "--checkpoint-every", defaultValue = "50", paramLabel = "N", description = "Steps between checkpoints.")
  long checkpointEvery;

  @Option(names = "--threads", defaultValue = "2", paramLabel = "N", description = "Threads decoding and augmenting.")
  int threads;

  @Override
  Map<String, String> builderFields() {
    return Map.of("dropPathRate", "--drop-path", "hiddenDim", "--head-hidden", "outputDim", "--head-dim",
        "viewsPerCaption", "--views", "learningRate", "--lr", "minLearningRate", "--min-lr",
        "warmupFraction", "--warmup", "dataset", "--data");
  }

  @Override
  public Integer call() throws Exception {
    if (!(epochs > 0)) {
      // read only when --steps is 0, but a negative or zero count is a mistake either way
      throw usage("--epochs: expected a number of epochs > 0, found %s", epochs);
    }
    CaptionDataset dataset = dataset();
    VisionTransformer.Builder vb = VisionTransformer.builder().preset(preset).imageSize(imageSize)
        .dropPathRate(dropPath).seed(seed);
    if (patchSize != null) {
      vb.patchSize(patchSize);
    }
    if (width != null) {
      vb.width(width);
    }
    if (depth != null) {
      vb.depth(depth);
    }
    if (heads != null) {
      vb.heads(heads);
    }
    VisionTransformer vit = vb.build();
    ProjectionHead head = ProjectionHead.builder().inputDim(vit.width()).hiddenDim(headHidden).outputDim(headDim)
        .seed(seed).build();
    Pretrainer.Builder pb = Pretrainer.builder().vit(vit).head(head).temperature(temperature)
        .dataset(simclr ? Pretrainer.singleImageCaptions(dataset) : dataset)
        .captionsPerBatch(captionsPerBatch).viewsPerCaption(simclr ? 2 : views)
        .augmentation(SimClrAugmentation.stableRep(imageSize)).minLearningRate(minLr).warmupFraction(warmup)
        .weightDecay(weightDecay).steps(steps).epochs(epochs).seed(seed).checkpoint(checkpoint)
        .checkpointEvery(checkpointEvery).threads(threads);
    if (lr != null) {
      pb.learningRate(lr);
    }
    Pretrainer trainer = pb.build();
    long total = trainer.totalSteps();
    err.printf(Locale.ROOT, "pretrain: %s, %d captions, batch %d x %d = %d images, %d steps%s%n", vit,
        trainer.dataset().captions().size(), trainer.captionsPerBatch(), trainer.viewsPerCaption(),
        trainer.batchSize(), total, Files.exists(checkpoint) ? ", resuming from " + checkpoint : "");

    AtomicBoolean stop = new AtomicBoolean();
    CountDownLatch finished = new CountDownLatch(1);
    // Ctrl-C: ask the loop to stop at the next step, which writes the checkpoint, and wait for it
    Thread hook = new Thread(() -> {
      stop.set(true);
      try {
        finished.await(120, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }, "pretrain-shutdown");
    Runtime.getRuntime().addShutdownHook(hook);
    ConsoleProgress[] bar = {null};
    long[] first = {-1};
    Pretrainer.Result r;
    try {
      r = trainer.train(p -> {
        if (bar[0] == null) {
          first[0] = p.step() - 1;
          bar[0] = progress("pretrain", p.totalSteps() - first[0]);
        }
        bar[0].update(p.step() - first[0], String.format(Locale.ROOT, "step %d/%d loss %.4f lr %.3g %.1f img/s",
            p.step(), p.totalSteps(), p.loss(), p.learningRate(), p.imagesPerSecond()));
      }, stop::get);
    } finally {
      finished.countDown();
      try {
        Runtime.getRuntime().removeShutdownHook(hook);
      } catch (IllegalStateException e) {
        // the JVM is already shutting down: the hook is running and has been released above
      }
    }
    double[] losses = r.losses();
    out.printf(Locale.ROOT, "pretrain: %d steps (%d this run, %s), final loss %.4f -> %s%n", losses.length,
        losses.length - r.resumedFromStep(), format(r.trainTime().toMillis() / 1000.0),
        losses.length == 0 ? Double.NaN : losses[losses.length - 1], checkpoint);
    return 0;
  }

  private CaptionDataset dataset() throws java.io.IOException {
    if (Files.isRegularFile(data)) {
      return CaptionDataset.fromManifest(data, paths.policy());
    }
    if (!Files.isDirectory(data)) {
      throw usage("--data: expected a caption manifest or a folder, found %s (no such file)", data);
    }
    Path manifest = data.resolve(GenerationJob.MANIFEST);
    return Files.isRegularFile(manifest) ? CaptionDataset.fromManifest(manifest, paths.policy())
        : CaptionDataset.fromCaptionFolders(data, paths.policy());
  }

  private static String format(double seconds) {
    long s = Math.round(seconds);
    return String.format(Locale.ROOT, "%d:%02d", s / 60, s % 60);
  }
}
