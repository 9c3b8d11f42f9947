package io.github.stablerep.examples;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.github.stablerep.augment.Images;
import io.github.stablerep.core.io.SafeTensors;
import io.github.stablerep.augment.data.CaptionDataset;
import io.github.stablerep.models.diffusion.StableDiffusionPipeline;
import io.github.stablerep.models.diffusion.TinyPipelineFolder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.List;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CancellationException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.indexing.NDArrayIndex;

class GenerationJobTest {
  @TempDir
  static Path tmp;

  static StableDiffusionPipeline pipe;
  static Path captions;

  @BeforeAll
  static void setUp() throws Exception {
    Path model = TinyPipelineFolder.write(tmp.resolve("model"), 5);
    pipe = StableDiffusionPipeline.builder().modelDirectory(model).steps(2).height(TinyPipelineFolder.SIZE)
        .width(TinyPipelineFolder.SIZE).build();
    captions = tmp.resolve("captions.tsv");
    Files.writeString(captions, "caption_id\tcaption\ncat-1\ta photo of a cat\ndog_2\ta dog, a \\ backslash\n");
  }

  static GenerationJob job(Path out) {
    return GenerationJob.builder().captions(captions).outputDirectory(out).imagesPerCaption(3).outputSize(8)
        .batchSize(2).seed(99).build();
  }

  /** Every file under {@code dir} (relative path -> bytes), temporaries included. */
  static TreeMap<String, byte[]> files(Path dir) throws Exception {
    TreeMap<String, byte[]> out = new TreeMap<>();
    try (Stream<Path> s = Files.walk(dir)) {
      for (Path p : (Iterable<Path>) s.filter(Files::isRegularFile)::iterator) {
        out.put(dir.relativize(p).toString().replace('\\', '/'), Files.readAllBytes(p));
      }
    }
    return out;
  }

  @Test
  void killedRunResumesWithNothingLostOrDuplicated() throws Exception {
    Path whole = tmp.resolve("whole");
    List<Long> seen = new ArrayList<>();
    GenerationJob.Result full = job(whole).run(pipe, (done, total, image, skipped) -> {
      assertThat(total).isEqualTo(6);
      seen.add(done);
    }, null);
    assertThat(full.generated()).isEqualTo(6);
    assertThat(full.skipped()).isZero();
    assertThat(seen).containsExactly(1L, 2L, 3L, 4L, 5L, 6L);
    TreeMap<String, byte[]> expected = files(whole);
    assertThat(expected.keySet()).containsExactly("cat-1/0.png", "cat-1/1.png", "cat-1/2.png", "dog_2/0.png",
        "dog_2/1.png", "dog_2/2.png", GenerationJob.MANIFEST);
    CaptionDataset ds = CaptionDataset.fromManifest(whole.resolve(GenerationJob.MANIFEST));
    assertThat(ds.size()).isEqualTo(2);
    assertThat(ds.imageCount()).isEqualTo(6);
    assertThat(ds.captions().get(1).caption()).isEqualTo("a dog, a \\ backslash");
    assertThat(Images.read(whole.resolve("dog_2/2.png")).shape()).containsExactly(3, 8, 8);
    Set<String> distinct = new HashSet<>();
    expected.forEach((k, v) -> distinct.add(new String(v, StandardCharsets.ISO_8859_1)));
    assertThat(distinct).hasSize(7); // every image differs

    // a run cancelled once the second batch (cat-1/2 and dog_2/0: batches run across captions)
    // has begun: the job finishes that batch and stops before the third
    Path resumed = tmp.resolve("resumed");
    AtomicBoolean stopNow = new AtomicBoolean();
    assertThatThrownBy(() -> job(resumed).run(pipe, (done, total, image, skipped) -> stopNow.compareAndSet(false,
        done == 3), stopNow::get)).isInstanceOf(CancellationException.class);
    assertThat(files(resumed).keySet()).containsExactly("cat-1/0.png", "cat-1/1.png", "cat-1/2.png", "dog_2/0.png",
        GenerationJob.MANIFEST);
    // what a kill could leave on top: a torn manifest line, a lost last line, a temporary PNG
    Path manifest = resumed.resolve(GenerationJob.MANIFEST);
    String m = Files.readString(manifest);
    String withoutLast = m.substring(0, m.lastIndexOf('\n', m.length() - 2) + 1);
    Files.writeString(manifest, withoutLast + "cat-1\ta pho");
    Files.writeString(resumed.resolve("dog_2").resolve(".1.png12345.tmp"), "partial");

    GenerationJob.Result rest = job(resumed).run(pipe, null, null);
    assertThat(rest.generated()).isEqualTo(2);
    assertThat(rest.skipped()).isEqualTo(4);
    TreeMap<String, byte[]> got = files(resumed);
    assertThat(got.keySet()).isEqualTo(expected.keySet());
    for (String k : expected.keySet()) {
      assertThat(got.get(k)).as(k).isEqualTo(expected.get(k));
    }
    // a third run finds everything done and changes nothing
    GenerationJob.Result again = job(resumed).run(pipe, null, null);
    assertThat(again.generated()).isZero();
    assertThat(Files.readAllBytes(manifest)).isEqualTo(expected.get(GenerationJob.MANIFEST));
  }

  @Test
  void commandLineWritesADataset() throws Exception {
    Path plain = tmp.resolve("cli.txt");
    Files.writeString(plain, "a red car\n");
    Path out = tmp.resolve("cli-out");
    GenerationJob.main(new String[] {"--model", tmp.resolve("model").toString(), "--captions", plain.toString(),
        "--out " + out + " --images 1 --size 8 --generated-size 16 --steps 1 --guidance 1.0"});
    CaptionDataset ds = CaptionDataset.fromManifest(out.resolve(GenerationJob.MANIFEST));
    assertThat(ds.imageCount()).isEqualTo(1);
    assertThat(ds.captions().get(0).caption()).isEqualTo("a red car");
    assertThat(Images.read(out.resolve("0/0.png")).shape()).containsExactly(3, 8, 8);
  }

  @Test
  void anotherJobsFolderIsRefused() throws Exception {
    Path out = tmp.resolve("other");
    Files.createDirectories(out);
    Files.writeString(out.resolve(GenerationJob.MANIFEST), "caption_id\tcaption\tpath\ncat-1\ta bird\tcat-1/0.png\n");
    assertThatThrownBy(() -> job(out).run(pipe, null, null)).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("caption_id cat-1").hasMessageContaining("a bird");
  }

  @Test
  void captionFiles() throws Exception {
    Path plain = tmp.resolve("plain.txt");
    Files.writeString(plain, "a cat\n\r\n  \na dog\r\n");
    assertThat(GenerationJob.readCaptions(plain)).containsExactly(new GenerationJob.Caption("0", "a cat"),
        new GenerationJob.Caption("1", "a dog"));
    Path bad = tmp.resolve("bad.tsv");
    Files.writeString(bad, "a\tx\n../up\ty\n");
    assertThatThrownBy(() -> GenerationJob.readCaptions(bad)).hasMessageContaining("bad.tsv:2")
        .hasMessageContaining("names a folder");
    Files.writeString(bad, "a\tx\na\ty\n");
    assertThatThrownBy(() -> GenerationJob.readCaptions(bad)).hasMessageContaining("unique");
    Files.writeString(bad, "a\tx\tz\n");
    assertThatThrownBy(() -> GenerationJob.readCaptions(bad)).hasMessageContaining("2 tab-separated fields");
    assertThatThrownBy(() -> GenerationJob.builder().captions(plain).outputDirectory(tmp).batchSize(0).build())
        .hasMessageContaining("batchSize");
  }

  @Test
  void imageSeedsAreDistinctAndStable() {
    Set<Long> seeds = new HashSet<>();
    for (int c = 0; c < 100; c++) {
      for (int j = 0; j < 10; j++) {
        seeds.add(GenerationJob.imageSeed(0, c, j));
      }
    }
    assertThat(seeds).hasSize(1000);
    assertThat(GenerationJob.imageSeed(7, 3, 2)).isEqualTo(GenerationJob.imageSeed(7, 3, 2))
        .isNotEqualTo(GenerationJob.imageSeed(8, 3, 2)).isNotEqualTo(GenerationJob.imageSeed(7, 2, 3));
  }

  /** {@code centreCrop} keeps the middle of each generated image: the same pixels, no resampling. */
  @Test
  void centreCropKeepsTheMiddleOfEachImage() throws Exception {
    Path out = tmp.resolve("cropped");
    GenerationJob.builder().captions(captions).outputDirectory(out).imagesPerCaption(1).outputSize(12)
        .centreCrop(12, 12).batchSize(2).seed(99).build().run(pipe, null, null);
    INDArray whole = pipe.generate("a photo of a cat", pipe.negativePrompt(),
        pipe.initialLatents(GenerationJob.imageSeed(99, 0, 0), 1), StableDiffusionPipeline.Progress.NONE);
    INDArray middle = whole.get(NDArrayIndex.point(0), NDArrayIndex.all(), NDArrayIndex.interval(2, 14),
        NDArrayIndex.interval(2, 14));
    INDArray written = Images.read(out.resolve("cat-1/0.png"));
    assertThat(written.shape()).containsExactly(3, 12, 12);
    // PNG stores 8 bits, truncated as torchvision's to_pil_image: within one step below
    assertThat(middle.sub(written).minNumber().doubleValue()).isGreaterThanOrEqualTo(-1e-6);
    assertThat(middle.sub(written).maxNumber().doubleValue()).isLessThan(1.0 / 255 + 1e-6);
    assertThatThrownBy(() -> GenerationJob.builder().captions(captions).outputDirectory(out).centreCrop(0, 4).build())
        .hasMessageContaining("centreCrop");
  }

  /** A generator with a NaN weight makes NaN pixels: the job stops, names the image, writes no PNG. */
  @Test
  void nonFiniteImagesStopTheJob() throws Exception {
    Path model = TinyPipelineFolder.write(tmp.resolve("nan-model"), 5);
    Path vaeWeights = model.resolve("vae").resolve("diffusion_pytorch_model.safetensors");
    Map<String, INDArray> w = new HashMap<>(SafeTensors.read(vaeWeights));
    String key = w.keySet().stream().filter(k -> k.startsWith("decoder.conv_out.bias")).findFirst().orElseThrow();
    w.get(key).putScalar(0, Float.NaN);
    SafeTensors.write(vaeWeights, w, Map.of());
    StableDiffusionPipeline broken = StableDiffusionPipeline.builder().modelDirectory(model).steps(1)
        .height(TinyPipelineFolder.SIZE).width(TinyPipelineFolder.SIZE).build();
    Path out = tmp.resolve("nan-out");
    assertThatThrownBy(() -> job(out).run(broken, null, null)).isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("cat-1/0.png").hasMessageContaining("finite");
    assertThat(files(out).keySet()).containsExactly(GenerationJob.MANIFEST);
  }
}
