package io.github.stablerep.examples.train;

import io.github.stablerep.augment.SimClrAugmentation;
import io.github.stablerep.augment.data.CaptionDataset;
import io.github.stablerep.augment.data.MultiViewBatch;
import io.github.stablerep.augment.data.MultiViewSampler;
import io.github.stablerep.core.io.SafeTensors;
import io.github.stablerep.core.train.TrainStep;
import io.github.stablerep.examples.programs.OwnTrainingLoop;
import io.github.stablerep.models.vit.ProjectionHead;
import io.github.stablerep.models.vit.VisionTransformer;
import io.github.stablerep.models.vit.VitPreset;
import io.github.stablerep.models.vit.WeightLayout;
import java.io.IOException;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The run behind the drop-path golden, shared by {@code PretrainerDropPathTest} (Pretrainer and
 * the {@code pretrain} command) and by {@link #main}, which writes the reference's inputs.
 *
 * <p>The reference ({@code tools/reference/drop_path_reference.py}) gets what the first step
 * starts from: the initial weights (timm's keys; the head's torch keys), the first batch's
 * augmented images and caption ids, and the uniform drop-path noise the step feeds. It builds
 * the masks itself, timm's way (per-block rates {@code linspace(0, rate, depth)}, keep = 1 -
 * rate, kept paths scaled by 1/keep), runs the forward pass in float64 and writes the loss. The
 * test checks that the inputs still are what the code produces, so the golden applies.
 */
final class DropPathGolden {

  static final Path DIR = Path.of("src/test/resources/golden/pretrain-drop-path");
  static final long SEED = 3;
  static final int SIZE = 16;
  static final int PATCH = 8;
  static final int WIDTH = 16;
  static final int DEPTH = 4;
  static final int HEADS = 2;
  static final int HEAD_HIDDEN = 32;
  static final int HEAD_DIM = 8;
  static final int CAPTIONS_PER_BATCH = 4;
  static final int VIEWS = 2;
  static final double RATE = 0.1;

  private DropPathGolden() {}

  /** 8 toy captions of 4 images each, as caption folders (what the CLI reads). */
  static CaptionDataset dataset(Path root) throws IOException {
    return CaptionDataset.fromCaptionFolders(OwnTrainingLoop.writeToyCaptions(root, 8, 4, SEED));
  }

  /** The command line that trains exactly {@link #pretrainer}'s run. */
  static List<String> cliArgs(Path data, Path checkpoint, double rate) {
    return List.of("pretrain", "--data", data.toString(), "--checkpoint", checkpoint.toString(), "--image-size",
        Integer.toString(SIZE), "--patch-size", Integer.toString(PATCH), "--width", Integer.toString(WIDTH), "--depth",
        Integer.toString(DEPTH), "--heads", Integer.toString(HEADS), "--head-hidden", Integer.toString(HEAD_HIDDEN),
        "--head-dim", Integer.toString(HEAD_DIM), "-n", Integer.toString(CAPTIONS_PER_BATCH), "-m",
        Integer.toString(VIEWS), "--steps", "1", "--seed", Long.toString(SEED), "--threads", "1", "--drop-path",
        Double.toString(rate));
  }

  /** What {@code pretrain} builds from {@link #cliArgs}. */
  static Pretrainer pretrainer(CaptionDataset dataset, double rate) {
    VisionTransformer vit = VisionTransformer.builder().preset(VitPreset.B_16).imageSize(SIZE).dropPathRate(rate)
        .seed(SEED).patchSize(PATCH).width(WIDTH).depth(DEPTH).heads(HEADS).build();
    ProjectionHead head = ProjectionHead.builder().inputDim(WIDTH).hiddenDim(HEAD_HIDDEN).outputDim(HEAD_DIM)
        .seed(SEED).build();
    return Pretrainer.builder().vit(vit).head(head).temperature(0.1).dataset(dataset)
        .captionsPerBatch(CAPTIONS_PER_BATCH).viewsPerCaption(VIEWS).augmentation(SimClrAugmentation.stableRep(SIZE))
        .minLearningRate(0).warmupFraction(0.05).weightDecay(0.1).steps(1).seed(SEED).threads(1).build();
  }

  /** The reference's inputs for the first step of {@code trainer}'s run. */
  static Map<String, INDArray> inputs(Pretrainer trainer) {
    Pretrainer.Graph g = trainer.buildGraph();
    Map<String, INDArray> out = new LinkedHashMap<>();
    trainer.vit().exportWeights(g.sd(), WeightLayout.TIMM).forEach((k, v) -> out.put("vit." + k, v));
    trainer.head().exportWeights(g.sd()).forEach((k, v) -> out.put("head." + k, v));
    try (MultiViewSampler s = trainer.sampler(1); MultiViewSampler.Epoch e = s.epoch(0)) {
      MultiViewBatch b = e.next();
      out.put("images", b.images().dup());
      out.put("ids", Nd4j.createFromArray(b.positionalIds()));
      int rows = b.positionalIds().length;
      g.vit().noiseFeed(rows, TrainStep.stepSeed(trainer.seed(), 0)).forEach((k, v) -> out.put("noise", v));
    }
    return out;
  }

  /** Writes the reference's inputs; run from examples/ with the test class path. */
  public static void main(String[] args) throws IOException {
    Path tmp = java.nio.file.Files.createTempDirectory("drop-path-golden");
    Pretrainer trainer = pretrainer(dataset(tmp.resolve("data")), RATE);
    Map<String, String> meta = new LinkedHashMap<>();
    meta.put("config", String.format("size=%d patch=%d width=%d depth=%d heads=%d mlp=%d head_hidden=%d head_dim=%d "
        + "views=%d rate=%s temperature=0.1 ln_eps=%s bn_eps=%s", SIZE, PATCH, WIDTH, DEPTH, HEADS,
        trainer.vit().mlpDim(), HEAD_HIDDEN, HEAD_DIM, VIEWS, RATE, trainer.vit().layerNormEps(),
        trainer.head().bnEps()));
    SafeTensors.write(DIR.resolve("inputs.safetensors"), inputs(trainer), meta);
    System.out.println("wrote " + DIR.resolve("inputs.safetensors"));
  }
}
