package io.github.stablerep.examples.programs;

import io.github.stablerep.augment.Images;
import io.github.stablerep.augment.SimClrAugmentation;
import io.github.stablerep.augment.data.CaptionDataset;
import io.github.stablerep.augment.data.MultiViewBatch;
import io.github.stablerep.augment.data.MultiViewSampler;
import io.github.stablerep.core.io.SafeTensors;
import io.github.stablerep.core.loss.MultiPositiveContrastiveLoss;
import io.github.stablerep.core.optim.AdamW;
import io.github.stablerep.core.optim.ParameterGroups;
import io.github.stablerep.core.optim.WarmupCosineSchedule;
import io.github.stablerep.core.train.TrainStep;
import io.github.stablerep.core.train.TrainingCheckpoint;
import io.github.stablerep.models.vit.ProjectionHead;
import io.github.stablerep.models.vit.ProjectionHeadGraph;
import io.github.stablerep.models.vit.VisionTransformer;
import io.github.stablerep.models.vit.VitGraph;
import io.github.stablerep.models.vit.WeightLayout;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import java.util.Random;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.factory.Nd4j;

/**
 * A StableRep training loop of your own, in one file: a caption dataset, multi-view batches of
 * {@code n} captions × {@code m} augmented images, a ViT with StableRep's projection head, the
 * multi-positive contrastive loss, AdamW on a warm-up cosine schedule with gradient clipping, and
 * a checkpoint at the end.
 *
 * <pre>
 * OwnTrainingLoop [--data MANIFEST_OR_CAPTION_FOLDERS] [--out DIR] [--steps 30] [--seed 0]
 * </pre>
 *
 * Without {@code --data} it draws a toy caption dataset first (each caption a coloured shape,
 * each image of it another position, size and noise), so it runs with no arguments in well
 * under a minute. The model is tiny (32×32 images, width 32, depth 2): swap in
 * {@code VisionTransformer.builder().preset(VitPreset.B_16)} and the head's defaults for the
 * paper's sizes.
 */
public final class OwnTrainingLoop {

  /** n captions per batch × m images per caption. */
  static final int CAPTIONS_PER_BATCH = 4;
  static final int VIEWS_PER_CAPTION = 3;
  static final int IMAGE_SIZE = 32;

  private OwnTrainingLoop() {}

  public static void main(String[] args) throws IOException {
    // mvn exec:exec passes -Ddemo.args="--a 1 --b 2" as one argument: split it on whitespace
    args = Arrays.stream(args).flatMap(a -> Arrays.stream(a.trim().split("\\s+"))).filter(a -> !a.isBlank())
        .toArray(String[]::new);
    Map<String, String> o = ToyImages.parse(args, "data", "out", "steps", "seed");
    long seed = Long.parseLong(o.getOrDefault("seed", "0"));
    int steps = Integer.parseInt(o.getOrDefault("steps", "30"));
    Path out = o.containsKey("out") ? Files.createDirectories(Path.of(o.get("out")))
        : Files.createTempDirectory("own-training-loop");

    CaptionDataset dataset;
    if (o.containsKey("data")) {
      Path data = Path.of(o.get("data"));
      dataset = Files.isDirectory(data) ? CaptionDataset.fromCaptionFolders(data) : CaptionDataset.fromManifest(data);
    } else {
      dataset = CaptionDataset.fromCaptionFolders(writeToyCaptions(out.resolve("toy-captions"), 8, 4, seed));
      System.out.println("no --data given: drew a toy dataset of 8 captions x 4 images in " + out.resolve("toy-captions"));
    }
    System.out.println(dataset);

    // The model: a training graph (drop path on) with the head's per-view-chunk BatchNorm.
    VisionTransformer vitConfig = VisionTransformer.builder().imageSize(IMAGE_SIZE).patchSize(8).width(32).depth(2)
        .heads(2).dropPathRate(0.1).seed(seed).build();
    ProjectionHead headConfig = ProjectionHead.builder().inputDim(32).hiddenDim(64).outputDim(16).seed(seed).build();
    MultiPositiveContrastiveLoss loss = MultiPositiveContrastiveLoss.builder().temperature(0.1).build();

    SameDiff sd = SameDiff.create();
    SDVariable images = sd.placeHolder("images", DataType.FLOAT, -1, 3, IMAGE_SIZE, IMAGE_SIZE);
    SDVariable captionIds = sd.placeHolder("caption_ids", DataType.INT, -1);
    VitGraph vit = vitConfig.define(sd, images, true);
    // The batch is view-major (row v·n + i is view v of caption i), so chunk v of the rows is
    // view v: BatchNorm then normalises each view separately, as the reference does.
    ProjectionHeadGraph head = headConfig.define(sd, vit.classToken(), VIEWS_PER_CAPTION, true);
    SDVariable lossVar = loss.define(sd, "loss", head.output(), captionIds);
    sd.setLossVariables(lossVar);

    AdamW optimizer = AdamW.builder()
        .learningRate(WarmupCosineSchedule.builder().baseLr(1e-3).minLr(1e-5)
            .warmupSteps(Math.max(1, steps / 10)).totalSteps(steps).build())
        .parameterGroups(ParameterGroups.stableRepReference())
        .build();
    // One step: drop-path noise fed from (seed, step), gradients with the loss and the head's
    // batch statistics from one pass, clipping, AdamW, BatchNorm running statistics.
    TrainStep trainStep = TrainStep.builder().graph(sd).loss(lossVar).parts(vit, head).optimizer(optimizer)
        .clipGradientNorm(3.0).noiseSeed(seed).build();

    int epochIndex = 0;
    try (MultiViewSampler sampler = MultiViewSampler.builder().dataset(dataset)
        .captionsPerBatch(CAPTIONS_PER_BATCH).viewsPerCaption(VIEWS_PER_CAPTION)
        .augmentation(SimClrAugmentation.stableRep(IMAGE_SIZE)).seed(seed).threads(2).build()) {
      MultiViewSampler.Epoch epoch = sampler.epoch(epochIndex);
      try {
        for (int step = 0; step < steps; step++) {
          if (!epoch.hasNext()) {
            epoch.close();
            epoch = sampler.epoch(++epochIndex);
          }
          MultiViewBatch batch = epoch.next();
          TrainStep.Result r = trainStep.run(Map.of("images", batch.images(),
              "caption_ids", Nd4j.createFromArray(batch.positionalIds())));
          System.out.printf("step %3d  epoch %d  loss %.4f  |grad| %.3f  lr %.2e%n", step, epochIndex, r.loss(),
              r.gradientNorm(), r.learningRate());
        }
      } finally {
        epoch.close();
      }
      System.out.println(sampler.stats());
    }

    // The whole training state (weights, BatchNorm statistics, AdamW moments, counters): a
    // later run calls TrainingCheckpoint.read(file).restore(sd, optimizer) and continues.
    Path checkpoint = out.resolve("checkpoint.safetensors");
    // The models' configs travel with the arrays, so a reader rebuilds them from the file alone.
    TrainingCheckpoint.capture(sd, optimizer).step(steps).epoch(epochIndex).rngSeed(seed)
        .modelConfig(vitConfig.name(), vitConfig.toConfig()).modelConfig("image_mlp", headConfig.toConfig())
        .build().write(checkpoint);
    // The encoder alone in timm's layout, for ProbeTimmCheckpoint or PyTorch, its config in the metadata.
    Path encoder = out.resolve("vit-timm.safetensors");
    SafeTensors.write(encoder, vitConfig.exportWeights(sd, WeightLayout.TIMM), Map.of("config.vit", vitConfig.toConfig()));
    System.out.println("wrote " + checkpoint + " and " + encoder);
  }

  /**
   * Draws {@code captions} folders of {@code perCaption} 48×48 PNGs each: caption c is a shape
   * (disc, square or bar) of its own colour on its own background; the images of a caption differ
   * in position, size and noise, which is what the loss must learn to ignore.
   */
  public static Path writeToyCaptions(Path root, int captions, int perCaption, long seed) throws IOException {
    Random rnd = new Random(seed);
    String[] shapes = {"disc", "square", "bar"};
    int size = 48;
    for (int c = 0; c < captions; c++) {
      float[] fg = {rnd.nextFloat(), rnd.nextFloat(), rnd.nextFloat()};
      float[] bg = {rnd.nextFloat(), rnd.nextFloat(), rnd.nextFloat()};
      String shape = shapes[c % shapes.length];
      Path dir = Files.createDirectories(root.resolve(String.format("caption-%02d", c)));
      Files.writeString(dir.resolve("caption.txt"), "a " + shape + " in colour " + c);
      for (int j = 0; j < perCaption; j++) {
        int cx = 12 + rnd.nextInt(24);
        int cy = 12 + rnd.nextInt(24);
        int r = 6 + rnd.nextInt(7);
        Images.writePng(dir.resolve(j + ".png"), ToyImages.shape(shape, size, cx, cy, r, fg, bg, 0.08, rnd));
      }
    }
    return root;
  }
}
