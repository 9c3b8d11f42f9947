package io.github.stablerep.examples.programs;

import io.github.stablerep.augment.ImageOps;
import io.github.stablerep.augment.Images;
import io.github.stablerep.augment.SimClrAugmentation;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * The augmentation on its own: read images, draw StableRep's views of each (and of a
 * customised recipe), and write them as one PNG grid.
 *
 * <pre>
 * AugmentOnly [--out grid.png] [--size 128] [--views 6] [--seed 0] [IMAGE ...]
 * </pre>
 *
 * Each row of the grid is one input: the whole image, then {@code views} views of
 * {@code SimClrAugmentation.stableRep(size)}, then {@code views} views of a milder recipe built
 * with the builder. Without images it draws a test picture first.
 */
public final class AugmentOnly {

  private AugmentOnly() {}

  public static void main(String[] args) throws IOException {
    // mvn exec:exec passes -Ddemo.args="--a 1 --b 2" as one argument: split it on whitespace
    args = Arrays.stream(args).flatMap(a -> Arrays.stream(a.trim().split("\\s+"))).filter(a -> !a.isBlank())
        .toArray(String[]::new);
    Path out = Path.of("augment-grid.png");
    int size = 128;
    int views = 6;
    long seed = 0;
    List<Path> inputs = new ArrayList<>();
    for (int i = 0; i < args.length; i++) {
      switch (args[i]) {
        case "--out" -> out = Path.of(value(args, ++i));
        case "--size" -> size = Integer.parseInt(value(args, ++i));
        case "--views" -> views = Integer.parseInt(value(args, ++i));
        case "--seed" -> seed = Long.parseLong(value(args, ++i));
        default -> {
          if (args[i].startsWith("--")) {
            throw new IllegalArgumentException("unknown option " + args[i] + "; expected --out, --size, --views or --seed");
          }
          inputs.add(Path.of(args[i]));
        }
      }
    }
    if (inputs.isEmpty()) {
      Path picture = Files.createTempDirectory("augment-only").resolve("test-picture.png");
      Images.writePng(picture, testPicture(256, 192));
      inputs.add(picture);
      System.out.println("no images given: drew a test picture, " + picture);
    }

    // StableRep's recipe, but without the ImageNet normalisation, so the views can be shown as
    // they are; a training pipeline keeps normalize(true), the default.
    SimClrAugmentation stableRep = SimClrAugmentation.stableRep(size).toBuilder().normalize(false).build();
    // A milder recipe: larger crops, weaker colour jitter, no grayscale, no blur, some solarize.
    SimClrAugmentation mild = stableRep.toBuilder()
        .cropScale(0.5, 1.0)
        .colorJitter(0.2, 0.2, 0.2, 0.05)
        .grayscaleProbability(0.0)
        .blurProbability(0.0)
        .solarize(0.2, 0.5)
        .build();

    int columns = 1 + 2 * views;
    INDArray grid = Nd4j.ones(3, inputs.size() * size, columns * size);
    for (int row = 0; row < inputs.size(); row++) {
      INDArray image = Images.read(inputs.get(row));          // [3, H, W] in [0, 1], as PIL's convert("RGB")
      INDArray batch = image.reshape(1, image.size(0), image.size(1), image.size(2));
      // views copies of one image in a batch: each row of a batch gets its own random parameters
      INDArray copies = Nd4j.concat(0, java.util.Collections.nCopies(views, batch).toArray(INDArray[]::new));
      INDArray a = stableRep.apply(copies, seed + row);     // [views, 3, size, size]
      INDArray b = mild.apply(copies, seed + row);

      int h = (int) image.size(1);
      int w = (int) image.size(2);
      INDArray whole = ImageOps.resizedCrop(batch, new int[] {0}, new int[] {0}, new int[] {h}, new int[] {w}, size, size);
      place(grid, whole.get(NDArrayIndex.point(0)), row, 0, size);
      for (int v = 0; v < views; v++) {
        place(grid, a.get(NDArrayIndex.point(v)), row, 1 + v, size);
        place(grid, b.get(NDArrayIndex.point(v)), row, 1 + views + v, size);
      }
    }
    Path parent = out.toAbsolutePath().getParent();
    if (parent != null) {
      Files.createDirectories(parent);
    }
    Images.writePng(out, grid);
    System.out.printf("wrote %s: %d row(s) x (original, %d StableRep views, %d mild views), %dx%d px%n", out,
        inputs.size(), views, views, grid.size(2), grid.size(1));
  }

  private static void place(INDArray grid, INDArray tile, int row, int column, int size) {
    grid.get(NDArrayIndex.all(), NDArrayIndex.interval(row * size, (row + 1) * size),
        NDArrayIndex.interval(column * size, (column + 1) * size)).assign(tile);
  }

  private static String value(String[] args, int i) {
    if (i >= args.length) {
      throw new IllegalArgumentException("option " + args[i - 1] + " expects a value");
    }
    return args[i];
  }

  /** A sky gradient, a sun and a striped house: colour, edges and a left-right asymmetry. */
  static INDArray testPicture(int width, int height) {
    float[] px = new float[3 * width * height];
    int plane = width * height;
    for (int y = 0; y < height; y++) {
      for (int x = 0; x < width; x++) {
        float t = y / (float) height;
        float r = 0.3f + 0.4f * t;
        float g = 0.5f + 0.3f * t;
        float b = 0.9f - 0.3f * t;
        double sun = Math.hypot(x - 0.25 * width, y - 0.25 * height);
        if (sun < 0.12 * height) {
          r = 1f;
          g = 0.85f;
          b = 0.2f;
        }
        if (x > 0.55 * width && x < 0.9 * width && y > 0.45 * height) {
          boolean stripe = ((x / 6) % 2) == 0;
          r = stripe ? 0.8f : 0.5f;
          g = stripe ? 0.2f : 0.1f;
          b = 0.1f;
        }
        if (y > 0.85 * height) {
          r = 0.2f;
          g = 0.6f;
          b = 0.2f;
        }
        px[y * width + x] = r;
        px[plane + y * width + x] = g;
        px[2 * plane + y * width + x] = b;
      }
    }
    return Nd4j.create(px, new long[] {3, height, width}, 'c');
  }
}
