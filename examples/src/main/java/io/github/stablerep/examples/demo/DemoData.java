package io.github.stablerep.examples.demo;

import static com.google.common.base.Preconditions.checkArgument;

import io.github.stablerep.core.io.AtomicFiles;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import javax.imageio.ImageIO;
import io.github.stablerep.augment.data.CaptionDataset;
import io.github.stablerep.augment.data.CaptionGroup;
import io.github.stablerep.eval.EvalPreprocessing;
import io.github.stablerep.examples.TinyStableDiffusion;
import io.github.stablerep.eval.data.Batch;
import io.github.stablerep.eval.data.IdxDataset;
import io.github.stablerep.eval.data.ImageDataset;
import io.github.stablerep.eval.data.ImageFolderDataset;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.function.LongConsumer;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * The main job's real data: labelled train and test images in memory (for the probes), and real
 * training images grouped like a generated set (for the real-image pre-training arms).
 *
 * <p>Sources ({@code --data}): the embedded Fashion-MNIST subset (classpath resources, see
 * {@code PROVENANCE.md} next to them), a Fashion-MNIST/MNIST IDX folder, an ImageFolder root
 * with {@code train/} and {@code test/} (or {@code val/}), or a caption manifest (then the
 * probes run on the embedded subset). Every image is brought to {@code size × size} RGB in [0, 1]
 * (short side resized, centre crop; one channel replicated to three).
 *
 * <p><b>Real images grouped by caption content</b> ({@link #realCaptionGroups}): for each caption
 * of the generated set, real images of its class with the size and brightness its words say,
 * written once as PNGs under the output folder because the sampler reads files.
 */
public final class DemoData {

  /** Caption templates for another generator's captions; {@code %s} is the class name. */
  public static final List<String> TEMPLATES = List.of("a photo of a %s", "a product photo of a %s",
      "a close-up photo of a %s", "a black and white photo of a %s", "a catalogue photo of a %s");
  /** Fashion-MNIST's class names, in label order. */
  public static final List<String> FASHION_MNIST = List.of("T-shirt/top", "trouser", "pullover", "dress", "coat",
      "sandal", "shirt", "sneaker", "bag", "ankle boot");
  static final String RESOURCES = "/io/github/stablerep/examples/demo/";
  static final String[] IDX_FILES = {"train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
      "t10k-labels-idx1-ubyte"};

  /** Images {@code FLOAT [N, 3, S, S]} in [0, 1] and their labels. */
  public record Labelled(INDArray images, int[] labels) {
    public int size() {
      return labels.length;
    }

    /** The first {@code perClass} images of each class, in reading order (all when larger). */
    Labelled firstPerClass(int perClass, int classes) {
      int[] taken = new int[classes];
      List<Integer> keep = new ArrayList<>();
      for (int i = 0; i < labels.length; i++) {
        if (taken[labels[i]]++ < perClass) {
          keep.add(i);
        }
      }
      if (keep.size() == labels.length) {
        return this;
      }
      long[] idx = keep.stream().mapToLong(Integer::longValue).toArray();
      int[] l = keep.stream().mapToInt(i -> labels[i]).toArray();
      return new Labelled(images.get(NDArrayIndex.indices(idx)).dup(), l);
    }
  }

  /** Where the data came from, in words (also the PNG cache's key). */
  private final String source;
  private final List<String> classes;
  private final Labelled train;
  private final Labelled test;
  private final CaptionDataset manifest;

  private DemoData(String source, List<String> classes, Labelled train, Labelled test, CaptionDataset manifest) {
    this.source = source;
    this.classes = List.copyOf(classes);
    this.train = train;
    this.test = test;
    this.manifest = manifest;
  }

  public String source() { return source; }
  public List<String> classes() { return classes; }
  public Labelled train() { return train; }
  public Labelled test() { return test; }
  /** The caption manifest given as {@code --data}, or null. */
  public CaptionDataset manifest() { return manifest; }

  /**
   * Loads the data for a run.
   *
   * @param data {@code --data}, or null for the embedded subset
   * @param work a folder for the embedded files
   * @param size the side every image is brought to
   * @param trainPerClass, testPerClass at most this many images per class (the first ones)
   * @throws IllegalArgumentException when {@code data} is none of the accepted layouts, naming
   *     what was looked for
   */
  public static DemoData load(Path data, Path work, int size, int trainPerClass, int testPerClass)
      throws IOException {
    DemoData d;
    if (data == null) {
      d = embedded(work, size);
    } else if (Files.isRegularFile(data)) {
      CaptionDataset m = CaptionDataset.fromManifest(data);
      checkArgument(!m.captions().isEmpty(), "--data %s: expected a caption manifest with captions, found none", data);
      DemoData e = embedded(work, size);
      d = new DemoData("caption manifest " + data + " (probes on the embedded Fashion-MNIST subset)", e.classes,
          e.train, e.test, m);
    } else if (Files.isDirectory(data) && idxFile(data, IDX_FILES[0]) != null) {
      d = idx(data, "IDX folder " + data, size);
    } else if (Files.isDirectory(data) && Files.isDirectory(data.resolve("train"))
        && (Files.isDirectory(data.resolve("test")) || Files.isDirectory(data.resolve("val")))) {
      Path testDir = Files.isDirectory(data.resolve("test")) ? data.resolve("test") : data.resolve("val");
      ImageFolderDataset tr = ImageFolderDataset.open(data.resolve("train"));
      ImageFolderDataset te = ImageFolderDataset.open(testDir);
      checkArgument(tr.classes().equals(te.classes()), "--data %s: expected the same class folders in train/ and %s/, "
          + "found %s and %s", data, testDir.getFileName(), tr.classes(), te.classes());
      d = new DemoData("ImageFolder " + data, tr.classes(), readAll(tr, size), readAll(te, size), null);
    } else {
      throw new IllegalArgumentException("--data " + data + ": expected a folder with train-images-idx3-ubyte[.gz] "
          + "and the other IDX files, a folder with train/ and test/ (or val/) class folders, or a caption manifest "
          + "file (caption_id<TAB>caption<TAB>path), found none of these");
    }
    int k = d.classes.size();
    return new DemoData(d.source, d.classes, d.train.firstPerClass(trainPerClass, k),
        d.test.firstPerClass(testPerClass, k), d.manifest);
  }

  private static DemoData embedded(Path work, int size) throws IOException {
    Path dir = Files.createDirectories(work.resolve("embedded"));
    for (String f : IDX_FILES) {
      Path target = dir.resolve(f + ".gz");
      if (!Files.exists(target)) {
        try (InputStream in = DemoData.class.getResourceAsStream(RESOURCES + f + ".gz")) {
          checkArgument(in != null, "classpath: expected the embedded dataset file %s%s.gz, found none", RESOURCES, f);
          AtomicFiles.writeStream(target, in::transferTo);
        }
      }
    }
    return idx(dir, "the embedded Fashion-MNIST subset", size);
  }

  private static Path idxFile(Path dir, String name) {
    for (String candidate : new String[] {name + ".gz", name}) {
      if (Files.isRegularFile(dir.resolve(candidate))) {
        return dir.resolve(candidate);
      }
    }
    return null;
  }

  private static DemoData idx(Path dir, String source, int size) throws IOException {
    Path[] f = new Path[4];
    for (int i = 0; i < 4; i++) {
      f[i] = idxFile(dir, IDX_FILES[i]);
      checkArgument(f[i] != null, "--data %s: expected %s or %s.gz next to %s, found neither", dir, IDX_FILES[i],
          IDX_FILES[i], IDX_FILES[0]);
    }
    Labelled train = readAll(IdxDataset.open(f[0], f[1]), size);
    Labelled test = readAll(IdxDataset.open(f[2], f[3]), size);
    int max = Arrays.stream(train.labels()).max().orElse(0);
    List<String> classes = new ArrayList<>();
    for (int c = 0; c <= max; c++) {
      classes.add(max == 9 ? FASHION_MNIST.get(c) : "class " + c);
    }
    return new DemoData(source, classes, train, test, null);
  }

  /** Reads every image, resized (short side) and centre-cropped to {@code size}, RGB in [0, 1]. */
  static Labelled readAll(ImageDataset ds, int size) throws IOException {
    EvalPreprocessing pre = EvalPreprocessing.builder().resizeShortSide(size).cropSize(size).mean(0, 0, 0)
        .std(1, 1, 1).build();
    INDArray all = Nd4j.create(DataType.FLOAT, ds.size(), 3, size, size);
    int done = 0;
    try (ImageDataset.Reader r = ds.reader()) {
      while (done < ds.size()) {
        Batch b = r.next(512);
        checkArgument(!b.isEmpty(), "dataset: expected %s images, the reader ended after %s", ds.size(), done);
        boolean ready = b.images().stream().allMatch(im -> im.size(1) == size && im.size(2) == size
            && (im.size(0) == 1 || im.size(0) == 3));
        if (ready && b.images().stream().allMatch(im -> im.size(0) == b.images().get(0).size(0))) {
          // already the right size (IDX, CIFAR): one copy per channel for the whole batch,
          // since per-image preprocessing costs a few ND4J ops per image
          INDArray stacked = b.stack();
          INDArray target = all.get(NDArrayIndex.interval(done, done + b.size()));
          for (int ch = 0; ch < 3; ch++) {
            target.get(NDArrayIndex.all(), NDArrayIndex.point(ch)).assign(
                stacked.get(NDArrayIndex.all(), NDArrayIndex.point(stacked.size(1) == 1 ? 0 : ch)));
          }
          done += b.size();
          continue;
        }
        for (INDArray im : b.images()) {
          all.get(NDArrayIndex.point(done++)).assign(pre.apply(im));
        }
      }
    }
    return new Labelled(all, ds.labels());
  }

  /**
   * Writes the training images as PNGs ({@code dir/<index>.png}) unless a previous run wrote the
   * same ones (a marker holds the source and count), and returns their paths.
   */
  public List<Path> exportTrainImages(Path dir, LongConsumer progress) throws IOException {
    return exportImages(train, source, dir, progress);
  }

  private static List<Path> exportImages(Labelled images, String source, Path dir, LongConsumer progress)
      throws IOException {
    Path marker = dir.resolve("READY");
    String key = source + "; " + images.size() + " images; " + images.images().size(2) + " px\n";
    List<Path> paths = new ArrayList<>();
    for (int i = 0; i < images.size(); i++) {
      paths.add(dir.resolve(i + ".png").toAbsolutePath());
    }
    if (Files.exists(marker) && Files.readString(marker, StandardCharsets.UTF_8).equals(key)) {
      progress.accept(images.size());
      return paths;
    }
    Files.createDirectories(dir);
    Files.deleteIfExists(marker);
    int s = (int) images.images().size(2);
    int plane = s * s;
    float[] px = images.images().dup().data().asFloat();
    for (int i = 0; i < images.size(); i++) {
      // ImageIO without a per-file fsync: the marker, written last, is what makes the set valid
      BufferedImage img = new BufferedImage(s, s, BufferedImage.TYPE_INT_RGB);
      int base = i * 3 * plane;
      for (int y = 0; y < s; y++) {
        for (int x = 0; x < s; x++) {
          int o = base + y * s + x;
          img.setRGB(x, y, (toByte(px[o]) << 16) | (toByte(px[o + plane]) << 8) | toByte(px[o + 2 * plane]));
        }
      }
      ByteArrayOutputStream bytes = new ByteArrayOutputStream();
      ImageIO.write(img, "png", bytes);
      Files.write(paths.get(i), bytes.toByteArray());
      progress.accept(i + 1);
    }
    AtomicFiles.writeString(marker, key);  // the set is valid only once this lands whole
    return paths;
  }

  private static int toByte(float v) {
    return Math.max(0, Math.min(255, Math.round(v * 255f)));
  }

  /**
   * Real training images grouped as a generated set is: for each caption, {@code perCaption} real
   * images of its class whose size and brightness terciles match the caption's words (the
   * attributes the shipped generator's captions were made from, {@code tools/tiny-sd/prompts.py}:
   * size = fraction of pixels above 0.1, brightness = their mean, terciles within the class), the
   * first unused ones in reading order. A caption without those words takes images of its class.
   * The images are written as PNGs under {@code dir} (once; a marker holds what they are).
   */
  public CaptionDataset realCaptionGroups(List<TinyStableDiffusion.Caption> captions, int perCaption, Path dir,
      LongConsumer progress) throws IOException {
    checkArgument(perCaption >= 1, "perCaption: expected >= 1, found %s", perCaption);
    int[][] terciles = contentTerciles(train, classes.size());
    boolean[] used = new boolean[train.size()];
    List<Integer> chosen = new ArrayList<>();
    List<int[]> spans = new ArrayList<>();
    for (TinyStableDiffusion.Caption cap : captions) {
      int start = chosen.size();
      for (int i = 0; i < train.size() && chosen.size() - start < perCaption; i++) {
        if (!used[i] && train.labels()[i] == cap.label() && (cap.size() < 0 || terciles[0][i] == cap.size())
            && (cap.brightness() < 0 || terciles[1][i] == cap.brightness())) {
          used[i] = true;
          chosen.add(i);
        }
      }
      checkArgument(chosen.size() > start, "caption %s: expected real training images of its class and attributes, "
          + "found none among %s", cap.text(), train.size());
      spans.add(new int[] {start, chosen.size()});
    }
    long[] idx = chosen.stream().mapToLong(Integer::longValue).toArray();
    Labelled subset = new Labelled(train.images().get(NDArrayIndex.indices(idx)).dup(),
        chosen.stream().mapToInt(i -> train.labels()[i]).toArray());
    List<Path> files = exportImages(subset, source + "; real caption groups of " + captions.size() + " captions x "
        + perCaption + " (" + Arrays.hashCode(idx) + ")", dir, progress);
    List<CaptionGroup> groups = new ArrayList<>();
    for (int c = 0; c < captions.size(); c++) {
      TinyStableDiffusion.Caption cap = captions.get(c);
      groups.add(new CaptionGroup("real-" + cap.id(), cap.text(), files.subList(spans.get(c)[0], spans.get(c)[1])));
    }
    return CaptionDataset.of(groups);
  }

  /**
   * Size and brightness tercile (0, 1, 2) of every image, within its class, as
   * {@code tools/tiny-sd/prompts.py} computes them (numpy's linear quantiles at 1/3 and 2/3).
   */
  static int[][] contentTerciles(Labelled l, int classes) {
    int n = l.size();
    int plane = (int) (l.images().size(2) * l.images().size(3));
    float[] px = l.images().get(NDArrayIndex.all(), NDArrayIndex.point(0)).dup('c').data().asFloat();
    double[][] measures = new double[2][n];
    for (int i = 0; i < n; i++) {
      int on = 0;
      double sum = 0;
      for (int p = i * plane; p < (i + 1) * plane; p++) {
        // the u8 value / 255, rounded back to the u8 grid: PNG and IDX hold whole steps
        double x = Math.round(px[p] * 255.0) / 255.0;
        if (x > 0.1) {
          on++;
          sum += x;
        }
      }
      measures[0][i] = on / (double) plane;
      measures[1][i] = sum / Math.max(on, 1) * 255;
    }
    int[][] out = new int[2][n];
    for (int a = 0; a < 2; a++) {
      for (int c = 0; c < classes; c++) {
        List<Double> values = new ArrayList<>();
        for (int i = 0; i < n; i++) {
          if (l.labels()[i] == c) {
            values.add(measures[a][i]);
          }
        }
        if (values.isEmpty()) {
          continue;
        }
        Collections.sort(values);
        double low = quantile(values, 1.0 / 3);
        double high = quantile(values, 2.0 / 3);
        for (int i = 0; i < n; i++) {
          if (l.labels()[i] == c) {
            out[a][i] = (measures[a][i] > low ? 1 : 0) + (measures[a][i] > high ? 1 : 0);
          }
        }
      }
    }
    return out;
  }

  /** numpy's default (linear) quantile of sorted values. */
  private static double quantile(List<Double> sorted, double q) {
    double pos = q * (sorted.size() - 1);
    int lo = (int) Math.floor(pos);
    int hi = Math.min(lo + 1, sorted.size() - 1);
    return sorted.get(lo) + (pos - lo) * (sorted.get(hi) - sorted.get(lo));
  }

  /** Caption text {@code t} of class {@code c}. */
  public String caption(int c, int t) {
    return String.format(TEMPLATES.get(t % TEMPLATES.size()), classes.get(c).toLowerCase(java.util.Locale.ROOT));
  }

  /** The grayscale mean of each image as one row: the raw-pixel baseline's features. */
  static INDArray rawPixels(Labelled l) {
    return l.images().mean(1).reshape(l.size(), -1).castTo(DataType.FLOAT);
  }
}
