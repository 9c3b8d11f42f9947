package io.github.stablerep.examples.programs;

import io.github.stablerep.augment.Images;
import io.github.stablerep.core.io.SafeTensors;
import io.github.stablerep.eval.EvalPreprocessing;
import io.github.stablerep.eval.FeatureExtractor;
import io.github.stablerep.eval.KnnClassifier;
import io.github.stablerep.eval.LinearProbe;
import io.github.stablerep.eval.LinearProbeModel;
import io.github.stablerep.eval.ProbeResult;
import io.github.stablerep.eval.data.ImageFolderDataset;
import io.github.stablerep.models.vit.VisionTransformer;
import io.github.stablerep.models.vit.VitGraph;
import io.github.stablerep.models.vit.VitPreset;
import io.github.stablerep.models.vit.WeightLayout;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Linear-probe and kNN a frozen ViT loaded from a timm-layout safetensors file.
 *
 * <pre>
 * ProbeTimmCheckpoint [--weights vit.safetensors --preset B_16 --image-size 224]
 *                     [--train IMAGE_FOLDER --test IMAGE_FOLDER] [--out DIR]
 * </pre>
 *
 * A timm ViT's {@code state_dict()} saved with {@code safetensors.torch.save_file} loads as it
 * is (the classifier head is skipped). If the checkpoint was trained at another resolution, its
 * position embedding is resampled to {@code --image-size} (bicubic, as timm). The image folders
 * are torchvision's ImageFolder layout ({@code root/<class>/<image>}).
 *
 * <p>Without {@code --weights} the program first exports a <b>random</b> (seeded, untrained)
 * tiny ViT built for 48×48 images to a safetensors file and loads it at 32×32, so the
 * position-embedding resampling runs too; without image folders it draws a toy three-class set.
 * The accuracies printed then say only that the plumbing works, not that a feature is good.
 */
public final class ProbeTimmCheckpoint {

  private ProbeTimmCheckpoint() {}

  public static void main(String[] args) throws IOException {
    // mvn exec:exec passes -Ddemo.args="--a 1 --b 2" as one argument: split it on whitespace
    args = Arrays.stream(args).flatMap(a -> Arrays.stream(a.trim().split("\\s+"))).filter(a -> !a.isBlank())
        .toArray(String[]::new);
    Map<String, String> o = ToyImages.parse(args, "weights", "preset", "image-size", "train", "test", "out");
    Path work = o.containsKey("out") ? Files.createDirectories(Path.of(o.get("out")))
        : Files.createTempDirectory("probe-timm");

    VisionTransformer vit;
    Path weights;
    if (o.containsKey("weights")) {
      weights = Path.of(o.get("weights"));
      vit = VisionTransformer.builder().preset(VitPreset.valueOf(o.getOrDefault("preset", "B_16")))
          .imageSize(Integer.parseInt(o.getOrDefault("image-size", "224"))).build();
    } else {
      weights = work.resolve("random-vit-48px-timm.safetensors");
      VisionTransformer trainedAt48 = tinyVit(48);
      SameDiff exporter = SameDiff.create();
      trainedAt48.define(exporter, exporter.placeHolder("images", DataType.FLOAT, -1, 3, 48, 48));
      SafeTensors.write(weights, trainedAt48.exportWeights(exporter, WeightLayout.TIMM));
      vit = tinyVit(32);
      System.out.println("no --weights given: exported a RANDOM, UNTRAINED tiny ViT (seed 7, 48x48, patch 8) to "
          + weights + " and will load it at 32x32. Its accuracies below only show that the pipeline runs.");
    }

    // An inference graph, then the checkpoint's weights (pos-embed resampled if the grid differs).
    int size = vit.imageHeight();
    SameDiff sd = SameDiff.create();
    VitGraph graph = vit.define(sd, sd.placeHolder("images", DataType.FLOAT, -1, 3, size, size));
    List<String> skipped = vit.importWeights(sd, SafeTensors.read(weights), WeightLayout.TIMM).ignored();
    System.out.println("loaded " + weights + " into " + vit + (skipped.isEmpty() ? "" : ", skipped " + skipped));

    Path trainDir;
    Path testDir;
    if (o.containsKey("train") && o.containsKey("test")) {
      trainDir = Path.of(o.get("train"));
      testDir = Path.of(o.get("test"));
    } else {
      trainDir = writeToyImageFolder(work.resolve("toy/train"), 16, 1);
      testDir = writeToyImageFolder(work.resolve("toy/test"), 8, 2);
      System.out.println("no --train/--test given: drew a toy image folder (3 classes) under " + work.resolve("toy"));
    }
    ImageFolderDataset train = ImageFolderDataset.open(trainDir);
    ImageFolderDataset test = ImageFolderDataset.open(testDir);

    // StableRep's evaluation transform scaled to the model: resize the short side by 256/224, centre crop.
    FeatureExtractor extractor = FeatureExtractor.builder().graph(sd).input("images")
        .output(graph.classToken().name()).batchSize(64)
        .preprocessing(EvalPreprocessing.builder().resizeShortSide(size * 256 / 224).cropSize(size).build())
        .build();
    INDArray trainX = extractor.extractCached(train, work.resolve("features-train.npy"));
    INDArray testX = extractor.extractCached(test, work.resolve("features-test.npy"));
    System.out.printf("features: train %s, test %s (cached as .npy in %s)%n", shape(trainX), shape(testX), work);

    LinearProbeModel probe = LinearProbe.builder().build().fit(trainX, train.labels());
    ProbeResult linear = probe.evaluate(testX, test.labels());
    ProbeResult knn = KnnClassifier.builder().k(Math.min(20, train.size())).build()
        .fit(trainX, train.labels()).evaluate(testX, test.labels());

    System.out.println("classes: " + train.classes());
    System.out.println("linear probe: " + linear);
    System.out.println("kNN:          " + knn);
    System.out.printf("%-20s %8s %16s%n", "probe", "top-1", "mean per class");
    System.out.printf("%-20s %8.4f %16.4f%n", String.format("linear (λ %.0e)", linear.lambda()), linear.top1(),
        linear.meanPerClassAccuracy());
    System.out.printf("%-20s %8.4f %16.4f%n", "kNN (k " + Math.min(20, train.size()) + ")", knn.top1(),
        knn.meanPerClassAccuracy());
  }

  static VisionTransformer tinyVit(int imageSize) {
    return VisionTransformer.builder().imageSize(imageSize).patchSize(8).width(32).depth(2).heads(2).seed(7).build();
  }

  private static String shape(INDArray a) {
    return java.util.Arrays.toString(a.shape());
  }

  /**
   * Three classes (disc, square, bar) of {@code perClass} 40×40 PNGs: each image another
   * position, size, colour pair and noise, so the class is the shape alone.
   */
  static Path writeToyImageFolder(Path root, int perClass, long seed) throws IOException {
    Random rnd = new Random(seed);
    String[] classes = {"bar", "disc", "square"};
    int size = 40;
    for (String cls : classes) {
      Path dir = Files.createDirectories(root.resolve(cls));
      for (int j = 0; j < perClass; j++) {
        int cx = 12 + rnd.nextInt(16);
        int cy = 12 + rnd.nextInt(16);
        int r = 5 + rnd.nextInt(6);
        float[] fg = {rnd.nextFloat(), rnd.nextFloat(), rnd.nextFloat()};
        float[] bg = {rnd.nextFloat(), rnd.nextFloat(), rnd.nextFloat()};
        Images.writePng(dir.resolve(j + ".png"), ToyImages.shape(cls, size, cx, cy, r, fg, bg, 0.05, rnd));
      }
    }
    return root;
  }
}
