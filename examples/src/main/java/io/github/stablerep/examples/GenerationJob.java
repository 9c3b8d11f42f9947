package io.github.stablerep.examples;

import static com.google.common.base.Preconditions.checkArgument;

import io.github.stablerep.augment.GeneratedImages;
import io.github.stablerep.augment.data.CaptionList;
import io.github.stablerep.augment.Images;
import io.github.stablerep.augment.data.CaptionDataset;
import io.github.stablerep.augment.data.CaptionGroup;
import io.github.stablerep.augment.data.CaptionManifest;
import io.github.stablerep.models.diffusion.SchedulerType;
import io.github.stablerep.models.diffusion.StableDiffusionPipeline;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CancellationException;
import java.util.function.BooleanSupplier;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * Builds a synthetic dataset as StableRep does: N images per caption from Stable Diffusion,
 * saved as PNGs at a chosen size (StableRep generates 512×512 and saves 256×256) with a caption
 * manifest in stablerep-augment's format ({@link CaptionManifest}), ready for {@code
 * CaptionDataset.fromManifest}.
 *
 * <p>It lives in the examples module because it joins stablerep-models (the pipeline) and
 * stablerep-augment (PNG writing, resizing, the manifest), and the dependency direction
 * (docs/ARCHITECTURE.md) keeps models free of augment.
 *
 * <p>Layout: {@code out/manifest.tsv} and {@code out/<caption id>/<image index>.png}. Captions
 * come from a text file, one caption per line (ids are the 0-based line numbers among non-empty
 * lines), or a TSV file of {@code caption_id<TAB>caption} lines (an optional first line {@code
 * caption_id<TAB>caption} is a header); ids must be usable as folder names.
 *
 * <p>Resumable and crash-safe, so a killed run restarted with the same arguments ends with the
 * same files and the same manifest, byte for byte, as an uninterrupted one:
 * <ul>
 *   <li>image j of caption i is generated from initial latents seeded by {@link #imageSeed}(seed,
 *       i, j), in fixed batches: the images in caption-major order (image k is image k mod m of
 *       caption k / m) cut into slices [kB, (k+1)B), B = batch size, so one pipeline call serves
 *       several captions when B > m (the text states are per image); a batch with
 *       any image missing is generated whole and only its missing images are written, so every
 *       image always comes out of the same batch, whatever was done before;
 *   <li>each PNG goes to a temporary file that is renamed into place ({@link Images#writePng}),
 *       so an existing PNG is complete and is never redone; left-over temporary files are
 *       deleted on start;
 *   <li>the manifest is appended to, one forced write per image, after its PNG exists. On start a
 *       torn last line is cut, the lines present are read, and an image on disk that the
 *       manifest lacks (a crash between rename and append) is appended when its turn comes, so
 *       no line is lost or duplicated and line order is the uninterrupted order.
 * </ul>
 */
public final class GenerationJob {
  /** The manifest's file name inside the output folder. */
  public static final String MANIFEST = "manifest.tsv";

  /** Progress of a run. */
  public interface Listener {
    /** After each image of the run's total ({@code skipped}: it was already there). */
    void onImage(long done, long total, Path image, boolean skipped);
  }

  /** What a run did: images generated now, images found already written, and the manifest. */
  public record Result(long generated, long skipped, Path manifest) {}

  /** One caption of the input. */
  public record Caption(String id, String text) {}

  private final Path captions;
  private final Path outputDirectory;
  private final int imagesPerCaption;
  private final int outputHeight;
  private final int outputWidth;
  private final long seed;
  private final int batchSize;
  private final int cropHeight;
  private final int cropWidth;

  private GenerationJob(Builder b) {
    this.captions = b.captions;
    this.outputDirectory = b.outputDirectory;
    this.imagesPerCaption = b.imagesPerCaption;
    this.outputHeight = b.outputHeight;
    this.outputWidth = b.outputWidth;
    this.seed = b.seed;
    this.batchSize = b.batchSize;
    this.cropHeight = b.cropHeight;
    this.cropWidth = b.cropWidth;
  }

  /** Defaults from StableRep: 10 images per caption saved at 256×256, batches of 2, seed 0. */
  public static Builder builder() {
    return new Builder();
  }

  /**
   * The seed of image {@code image} of the caption at position {@code caption}: {@link
   * GeneratedImages#imageSeed}, which the Spark job in stablerep-spark shares, so every image has
   * its own stream and a rerun draws the same one.
   */
  public static long imageSeed(long seed, int caption, int image) {
    return GeneratedImages.imageSeed(seed, caption, image);
  }

  /**
   * Reads a captions file (plain text or TSV, see the class comment).
   *
   * @throws IllegalArgumentException naming the file when it is missing, not UTF-8 or malformed
   */
  public static List<Caption> readCaptions(Path file) throws IOException {
    return CaptionList.read(file).stream().map(e -> new Caption(e.id(), e.text())).toList();
  }

  /** Runs (or resumes) the job; see the class comment. */
  public Result run(StableDiffusionPipeline pipeline, Listener listener, BooleanSupplier cancelled)
      throws IOException {
    checkArgument(pipeline != null, "pipeline: expected a StableDiffusionPipeline, found null");
    Listener l = listener == null ? (d, t, p, s) -> { } : listener;
    BooleanSupplier stop = cancelled == null ? () -> false : cancelled;
    List<Caption> list = readCaptions(captions);
    Files.createDirectories(outputDirectory);
    Path manifest = outputDirectory.resolve(MANIFEST);
    Set<Path> listed = openManifest(manifest, list);
    List<Path> dirs = new ArrayList<>(list.size());
    for (Caption cap : list) {
      Path dir = Files.createDirectories(outputDirectory.resolve(cap.id()));
      deleteTemporaries(dir);
      dirs.add(dir);
    }
    long total = (long) list.size() * imagesPerCaption;
    long done = 0;
    long generated = 0;
    long skipped = 0;
    StableDiffusionPipeline.Progress progress = new StableDiffusionPipeline.Progress() {
      @Override
      public boolean isCancelled() {
        return stop.getAsBoolean();
      }
    };
    // image k is image k mod m of caption k / m; batches are fixed slices of that order, so an
    // image always comes out of the same batch (the same prompts and latents beside it)
    for (long from = 0; from < total; from += batchSize) {
      long to = Math.min(total, from + batchSize);
      boolean complete = true;
      for (long k = from; k < to; k++) {
        complete &= Files.isRegularFile(image(dirs, k));
      }
      INDArray images = null;
      if (!complete) {
        if (stop.getAsBoolean()) {
          throw new CancellationException("generation job cancelled before caption " + caption(list, from).id()
              + " image " + from % imagesPerCaption);
        }
        List<String> prompts = new ArrayList<>();
        INDArray[] latents = new INDArray[(int) (to - from)];
        for (long k = from; k < to; k++) {
          prompts.add(caption(list, k).text());
          latents[(int) (k - from)] =
              pipeline.initialLatents(imageSeed(seed, (int) (k / imagesPerCaption), (int) (k % imagesPerCaption)), 1);
        }
        images = pipeline.generate(prompts, Nd4j.concat(0, latents), progress);
        long first = from;
        GeneratedImages.requireFinite(images, i -> caption(list, first + i).id() + "/"
            + (first + i) % imagesPerCaption + ".png");
        images = GeneratedImages.cropAndResize(images, cropHeight, cropWidth, outputHeight, outputWidth);
      }
      for (long k = from; k < to; k++) {
        Caption cap = caption(list, k);
        Path file = image(dirs, k);
        boolean exists = Files.isRegularFile(file);
        if (!exists) {
          Images.writePng(file, images.get(NDArrayIndex.point(k - from), NDArrayIndex.all(), NDArrayIndex.all(),
              NDArrayIndex.all())); // the bytes of GeneratedImages.png, as the Spark job writes them
          generated++;
        } else {
          skipped++;
        }
        if (listed.add(file.toAbsolutePath().normalize())) {
          append(manifest, CaptionManifest.line(cap.id(), cap.text(), cap.id() + "/" + file.getFileName()));
        }
        l.onImage(++done, total, file, exists);
      }
    }
    return new Result(generated, skipped, manifest);
  }

  private Caption caption(List<Caption> list, long k) {
    return list.get((int) (k / imagesPerCaption));
  }

  private Path image(List<Path> dirs, long k) {
    return dirs.get((int) (k / imagesPerCaption)).resolve(k % imagesPerCaption + ".png");
  }

  /**
   * Creates the manifest, or repairs a torn last line and returns the images it lists; refuses a
   * manifest whose captions disagree with the captions file (another job's folder).
   */
  private static Set<Path> openManifest(Path manifest, List<Caption> captions) throws IOException {
    Set<Path> listed = new HashSet<>();
    if (!Files.exists(manifest)) {
      append(manifest, CaptionManifest.HEADER_TEXT + "\n");
      return listed;
    }
    try (FileChannel ch = FileChannel.open(manifest, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
      long size = ch.size();
      long keep = size;
      ByteBuffer one = ByteBuffer.allocate(1);
      while (keep > 0) {
        one.clear();
        ch.read(one, keep - 1);
        if (one.get(0) == '\n') {
          break;
        }
        keep--;
      }
      if (keep < size) {
        ch.truncate(keep); // a line cut by a crash; its image is re-listed when reached
        ch.force(true);
      }
    }
    if (Files.size(manifest) == 0) {
      append(manifest, CaptionManifest.HEADER_TEXT + "\n");
      return listed;
    }
    Map<String, String> byId = new HashMap<>();
    for (Caption c : captions) {
      byId.put(c.id(), c.text());
    }
    CaptionDataset existing = CaptionManifest.read(manifest);
    for (CaptionGroup g : existing.captions()) {
      String text = byId.get(g.id());
      checkArgument(g.caption().equals(text), "%s: caption_id %s: expected caption \"%s\" from the captions file, "
          + "found \"%s\" (is this folder another job's output?)", manifest, g.id(), text, g.caption());
      for (Path p : g.images()) {
        listed.add(p.toAbsolutePath().normalize());
      }
    }
    return listed;
  }

  private static void append(Path manifest, String text) throws IOException {
    try (FileChannel ch = FileChannel.open(manifest, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
        StandardOpenOption.APPEND)) {
      ByteBuffer buf = ByteBuffer.wrap(text.getBytes(StandardCharsets.UTF_8));
      while (buf.hasRemaining()) {
        ch.write(buf);
      }
      ch.force(true);
    }
  }

  /** Images.writePng's temporaries are ".<name>.<random>.tmp"; a killed run may leave some. */
  private static void deleteTemporaries(Path dir) throws IOException {
    try (DirectoryStream<Path> s = Files.newDirectoryStream(dir, ".*.png*.tmp")) {
      for (Path p : s) {
        Files.deleteIfExists(p);
      }
    }
  }

  public Path captions() { return captions; }
  public Path outputDirectory() { return outputDirectory; }
  public int imagesPerCaption() { return imagesPerCaption; }
  public int outputHeight() { return outputHeight; }
  public int outputWidth() { return outputWidth; }
  public long seed() { return seed; }
  public int batchSize() { return batchSize; }
  /** The centre region kept before resizing, {@code [height, width]}; {@code [0, 0]} keeps everything. */
  public int[] centreCrop() { return new int[] {cropHeight, cropWidth}; }

  public static final class Builder {
    private Path captions;
    private Path outputDirectory;
    private int imagesPerCaption = 10;
    private int outputHeight = 256;
    private int outputWidth = 256;
    private long seed = 0;
    private int batchSize = 2;
    private int cropHeight;
    private int cropWidth;

    private Builder() {}

    public Builder captions(Path v) { this.captions = v; return this; }
    public Builder outputDirectory(Path v) { this.outputDirectory = v; return this; }
    public Builder imagesPerCaption(int v) { this.imagesPerCaption = v; return this; }
    /** Saved size (antialiased resize from the generated size when they differ). */
    public Builder outputSize(int v) { this.outputHeight = v; this.outputWidth = v; return this; }
    public Builder outputSize(int height, int width) { this.outputHeight = height; this.outputWidth = width; return this; }
    public Builder seed(long v) { this.seed = v; return this; }
    /**
     * Images per pipeline call, taken in order across captions; part of what makes the images
     * (see the class comment), so keep it on resume.
     */
    public Builder batchSize(int v) { this.batchSize = v; return this; }
    /**
     * Keeps only the centre {@code height × width} of each generated image before the resize: a
     * model trained on padded images (the shipped tiny-sd-fmnist pads 28 to 32) gives back its
     * content this way. 0 × 0 (the default) keeps the whole image.
     */
    public Builder centreCrop(int height, int width) { this.cropHeight = height; this.cropWidth = width; return this; }

    public GenerationJob build() {
      checkArgument(captions != null, "captions: expected a captions file, found null");
      checkArgument(outputDirectory != null, "outputDirectory: expected a folder, found null");
      checkArgument(imagesPerCaption >= 1, "imagesPerCaption: expected >= 1, found %s", imagesPerCaption);
      checkArgument(outputHeight >= 1 && outputWidth >= 1, "outputSize: expected >= 1, found %s x %s", outputHeight,
          outputWidth);
      checkArgument(batchSize >= 1, "batchSize: expected >= 1, found %s", batchSize);
      checkArgument((cropHeight == 0 && cropWidth == 0) || (cropHeight >= 1 && cropWidth >= 1),
          "centreCrop: expected 0 x 0 (none) or both >= 1, found %s x %s", cropHeight, cropWidth);
      return new GenerationJob(this);
    }
  }

  // ---------------------------------------------------------------- command line

  private static final String USAGE = "usage: generate --model SD_FOLDER --captions FILE --out DIR [--images 10]"
      + " [--size 256] [--generated-size 512] [--seed 0] [--steps 50] [--guidance 2.0] [--scheduler DDIM]"
      + " [--batch 2]";

  public static void main(String[] args) throws IOException {
    // exec:exec passes -Ddemo.args="--model m --out o" as one argument: split on whitespace
    args = Arrays.stream(args).flatMap(a -> Arrays.stream(a.trim().split("\\s+"))).filter(a -> !a.isBlank())
        .toArray(String[]::new);
    Map<String, String> o = new HashMap<>();
    for (int i = 0; i < args.length; i++) {
      if (args[i].equals("--help") || args[i].equals("-h")) {
        System.out.println(USAGE);
        return;
      }
      if (!args[i].startsWith("--") || i + 1 >= args.length) {
        System.err.println("generate: option " + args[i] + " expects a value\n" + USAGE);
        System.exit(2);
      }
      o.put(args[i].substring(2), args[++i]);
    }
    try {
      for (String required : List.of("model", "captions", "out")) {
        checkArgument(o.containsKey(required), "--%s is required", required);
      }
      int genSize = Integer.parseInt(o.getOrDefault("generated-size", "512"));
      StableDiffusionPipeline pipe = StableDiffusionPipeline.builder().modelDirectory(Path.of(o.get("model")))
          .scheduler(SchedulerType.valueOf(o.getOrDefault("scheduler", "DDIM")))
          .steps(Integer.parseInt(o.getOrDefault("steps", "50")))
          .guidanceScale(Double.parseDouble(o.getOrDefault("guidance", "2.0"))).height(genSize).width(genSize).build();
      GenerationJob job = builder().captions(Path.of(o.get("captions"))).outputDirectory(Path.of(o.get("out")))
          .imagesPerCaption(Integer.parseInt(o.getOrDefault("images", "10")))
          .outputSize(Integer.parseInt(o.getOrDefault("size", "256")))
          .seed(Long.parseLong(o.getOrDefault("seed", "0"))).batchSize(Integer.parseInt(o.getOrDefault("batch", "2")))
          .build();
      ConsoleProgress[] bar = {null};
      Result r = job.run(pipe, (done, total, image, skipped) -> {
        if (bar[0] == null) {
          bar[0] = new ConsoleProgress("generate", total);
        }
        bar[0].update(done, (skipped ? "kept " : "wrote ") + job.outputDirectory().relativize(image));
      }, null);
      System.out.printf("generate: %d images written, %d already there; manifest %s%n", r.generated(), r.skipped(),
          r.manifest());
    } catch (IllegalArgumentException e) {
      System.err.println("generate: " + e.getMessage());
      System.exit(2);
    } catch (UncheckedIOException e) {
      System.err.println("generate: " + e.getMessage());
      System.exit(1);
    }
  }
}
