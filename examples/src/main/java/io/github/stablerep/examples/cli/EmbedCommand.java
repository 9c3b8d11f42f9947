package io.github.stablerep.examples.cli;

import io.github.stablerep.core.io.Npy;
import io.github.stablerep.examples.ConsoleProgress;
import io.github.stablerep.eval.FeatureExtractor;
import java.nio.file.Path;
import java.util.Arrays;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** Images to encoder features in {@code .npy}. */
@Command(
    name = "embed",
    description = {
      "Encode images with a frozen ViT and write one feature row per image as a float32 .npy [N, D]"
          + " (numpy.load reads it), in the dataset's order.",
      "Images: a folder of class folders (ImageFolder), a .csv/.tsv manifest of path,label lines, or a"
          + " plain folder of images (file-name order, no labels). Each image is resized (short side),"
          + " centre-cropped to the encoder's size and normalised with ImageNet's mean and std."
    })
final class EmbedCommand extends CliCommand {

  @Option(names = "--images", required = true, paramLabel = "PATH",
      description = "ImageFolder, manifest (.csv/.tsv) or folder of images.")
  Path images;

  @Option(names = "--out", required = true, paramLabel = "FILE", description = "Features, .npy float32 [N, D].")
  Path outFile;

  @Option(names = "--labels-out", paramLabel = "FILE",
      description = "Also write the labels as .npy int64 [N] (ImageFolder or manifest only).")
  Path labelsOut;

  @Mixin EncoderOptions encoder;

  @Mixin PathOptions paths;

  @Override
  public Integer call() throws Exception {
    Datasets.Opened data = Datasets.open("--images", images, paths.policy());
    if (labelsOut != null && !data.labelled()) {
      throw usage("--labels-out: expected labelled images (an ImageFolder or a manifest), found a plain folder %s",
          images);
    }
    Encoders.Encoder enc = encoder.load();
    INDArray features = extract(data, enc, encoder, this);
    Npy.write(outputFile("--out", outFile), features);
    if (labelsOut != null) {
      Npy.write(outputFile("--labels-out", labelsOut), labels(data.dataset().labels()));
    }
    out.printf("embed: %d images (%s) -> %s %s%s%n", features.rows(), data.kind(), outFile,
        Arrays.toString(features.shape()), labelsOut == null ? "" : ", labels -> " + labelsOut);
    return 0;
  }

  static INDArray extract(Datasets.Opened data, Encoders.Encoder enc, EncoderOptions o, CliCommand cmd)
      throws java.io.IOException {
    ConsoleProgress bar = cmd.progress("embed", data.dataset().size());
    FeatureExtractor fx = FeatureExtractor.builder().graph(enc.sd()).input(enc.input()).output(enc.output())
        .batchSize(o.batch).preprocessing(o.preprocessing(enc.vit().imageHeight()))
        .progress((done, total) -> bar.update(done, "images")).build();
    INDArray features = fx.extract(data.dataset());
    // NaN weights gave all-NaN features and exit 0; no caller can use those
    long bad = features.isNaN().castTo(org.nd4j.linalg.api.buffer.DataType.INT).sumNumber().longValue()
        + features.isInfinite().castTo(org.nd4j.linalg.api.buffer.DataType.INT).sumNumber().longValue();
    if (bad > 0) {
      throw new IllegalArgumentException("features: expected finite values, found " + bad + " NaN or infinite of "
          + features.length() + " (are the weights in " + (o.checkpoint != null ? o.checkpoint : o.weights) + " all finite?)");
    }
    return features;
  }

  static INDArray labels(int[] y) {
    long[] l = new long[y.length];
    for (int i = 0; i < y.length; i++) {
      l[i] = y[i];
    }
    return Nd4j.createFromArray(l);
  }
}
