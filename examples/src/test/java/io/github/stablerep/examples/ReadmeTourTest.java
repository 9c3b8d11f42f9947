package io.github.stablerep.examples;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import io.github.stablerep.augment.Images;
import io.github.stablerep.augment.SimClrAugmentation;
import io.github.stablerep.augment.data.CaptionDataset;
import io.github.stablerep.augment.data.MultiViewBatch;
import io.github.stablerep.augment.data.MultiViewSampler;
import io.github.stablerep.core.io.SafeTensors;
import io.github.stablerep.core.loss.LossResult;
import io.github.stablerep.core.loss.MultiPositiveContrastiveLoss;
import io.github.stablerep.core.optim.AdamW;
import io.github.stablerep.core.optim.ParameterGroups;
import io.github.stablerep.core.optim.WarmupCosineSchedule;
import io.github.stablerep.core.train.TrainStep;
import io.github.stablerep.eval.EvalPreprocessing;
import io.github.stablerep.eval.FeatureExtractor;
import io.github.stablerep.eval.KnnClassifier;
import io.github.stablerep.eval.LinearProbe;
import io.github.stablerep.eval.LinearProbeModel;
import io.github.stablerep.eval.ProbeResult;
import io.github.stablerep.eval.data.ImageFolderDataset;
import io.github.stablerep.examples.programs.OwnTrainingLoop;
import io.github.stablerep.models.diffusion.StableDiffusionPipeline;
import io.github.stablerep.models.diffusion.TinyPipelineFolder;
import io.github.stablerep.models.vit.ProjectionHead;
import io.github.stablerep.models.vit.ProjectionHeadGraph;
import io.github.stablerep.models.vit.VisionTransformer;
import io.github.stablerep.models.vit.VitGraph;
import io.github.stablerep.models.vit.WeightLayout;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The README's five-minute tour, compiled and run. Each tour snippet in README.md sits between
 * {@code <!-- tour:NAME -->} and {@code <!-- /tour:NAME -->}; the same lines sit here between
 * {@code // tour:NAME begin} and {@code // tour:NAME end}. {@link #readmeShowsExactlyTheCodeThatRunsHere}
 * fails when the two drift apart, so the README only shows code that compiles and runs.
 */
class ReadmeTourTest {

  static final Path SOURCE = Path.of("src/test/java/io/github/stablerep/examples/ReadmeTourTest.java");
  static final Path README = Path.of("../README.md");

  @TempDir
  Path tmp;

  @Test
  void loss() {
    Random rnd = new Random(1);
    float[] values = new float[8 * 16];
    for (int i = 0; i < values.length; i++) {
      values[i] = (float) rnd.nextGaussian();
    }
    INDArray embeddings = Nd4j.create(values, new long[] {8, 16}, 'c');
    // tour:loss begin
    MultiPositiveContrastiveLoss loss = MultiPositiveContrastiveLoss.builder().temperature(0.1).build();
    INDArray captionIds = Nd4j.createFromArray(0, 1, 2, 3, 0, 1, 2, 3);   // 4 captions x 2 images

    // Eagerly: the value and d loss / d embeddings, e.g. for a loop of your own.
    LossResult eager = loss.compute(embeddings /* [8, 16] */, captionIds);
    double value = eager.value();
    INDArray gradient = eager.gradient();                                // [8, 16]

    // In a SameDiff graph: gradients flow back into whatever made the embeddings.
    SameDiff sd = SameDiff.create();
    SDVariable z = sd.placeHolder("z", DataType.FLOAT, -1, 16);
    SDVariable ids = sd.placeHolder("ids", DataType.INT, -1);
    SDVariable l = loss.define(sd, "loss", z, ids);
    sd.setLossVariables(l);
    double same = sd.output(Map.of("z", embeddings, "ids", captionIds), "loss").get("loss").getDouble(0);
    // tour:loss end
    assertThat(value).isPositive();
    assertThat(same).isCloseTo(value, within(1e-5 * value));
    assertThat(gradient.shape()).containsExactly(8, 16);
    assertThat(gradient.norm2Number().doubleValue()).isPositive();
  }

  @Test
  void vitAndHead() throws IOException {
    Path file = tmp.resolve("vit.safetensors");
    INDArray batch = Nd4j.rand(DataType.FLOAT, 2, 3, 32, 32);
    // tour:vit begin
    // A tiny ViT for the tour; VisionTransformer.builder().preset(VitPreset.B_16) is StableRep's.
    VisionTransformer vit = VisionTransformer.builder().imageSize(32).patchSize(8).width(64).depth(2).heads(4).build();
    ProjectionHead head = ProjectionHead.builder().inputDim(64).hiddenDim(128).outputDim(32).build();

    SameDiff sd = SameDiff.create();
    SDVariable images = sd.placeHolder("images", DataType.FLOAT, -1, 3, 32, 32);
    VitGraph encoder = vit.define(sd, images);                   // define(sd, images, true): training graph
    ProjectionHeadGraph projection = head.define(sd, encoder.classToken(), 1, false);
    Map<String, INDArray> out = sd.output(Map.of("images", batch),
        encoder.classToken().name(), projection.output().name());  // [2, 64] features, [2, 32] embeddings

    // timm's state dict in and out; a checkpoint with another patch grid gets its pos-embed resampled
    SafeTensors.write(file, vit.exportWeights(sd, WeightLayout.TIMM));
    vit.importWeights(sd, SafeTensors.read(file), WeightLayout.TIMM);  // or WeightLayout.TORCHVISION
    Map<String, INDArray> headWeights = head.exportWeights(sd);         // torch keys: layer1.weight, bn1.running_mean, ...
    // tour:vit end
    assertThat(out.get(encoder.classToken().name()).shape()).containsExactly(2, 64);
    assertThat(out.get(projection.output().name()).shape()).containsExactly(2, 32);
    assertThat(SafeTensors.read(file)).containsKeys("cls_token", "pos_embed", "blocks.1.attn.qkv.weight");
    assertThat(headWeights).isNotEmpty();
    INDArray again = sd.output(Map.of("images", batch), encoder.classToken().name()).get(encoder.classToken().name());
    assertThat(again.equalsWithEps(out.get(encoder.classToken().name()), 1e-6)).isTrue();
  }

  @Test
  void trainingStep() throws IOException {
    MultiPositiveContrastiveLoss loss = MultiPositiveContrastiveLoss.builder().build();
    VisionTransformer vit = VisionTransformer.builder().imageSize(32).patchSize(8).width(64).depth(2).heads(4).build();
    CaptionDataset dataset = CaptionDataset.fromCaptionFolders(OwnTrainingLoop.writeToyCaptions(tmp, 8, 3, 0));
    int n = 4;
    int m = 2;
    // tour:train begin
    SameDiff sd = SameDiff.create();
    SDVariable images = sd.placeHolder("images", DataType.FLOAT, -1, 3, 32, 32);
    SDVariable ids = sd.placeHolder("ids", DataType.INT, -1);
    VitGraph encoder = vit.define(sd, images, true);
    ProjectionHeadGraph head = ProjectionHead.builder().inputDim(64).hiddenDim(128).outputDim(32).build()
        .define(sd, encoder.classToken(), m, true);                 // BatchNorm per view, as the reference
    sd.setLossVariables(loss.define(sd, "loss", head.output(), ids));

    // torch.optim.AdamW semantics, betas (0.9, 0.98), no weight decay on biases and norms
    AdamW opt = AdamW.builder()
        .learningRate(WarmupCosineSchedule.builder().baseLr(1e-3).minLr(1e-6).warmupSteps(500).totalSteps(20_000).build())
        .parameterGroups(ParameterGroups.stableRepReference())
        .build();
    // one step: drop-path noise fed, gradients + loss + BatchNorm batch statistics in one pass,
    // clipping (optional; the reference does not clip), AdamW, BatchNorm running statistics
    TrainStep step = TrainStep.builder().graph(sd).parts(encoder, head).optimizer(opt).clipGradientNorm(1.0).build();

    // n captions x m augmented images per batch, decoded and augmented on background threads
    try (MultiViewSampler sampler = MultiViewSampler.builder().dataset(dataset).captionsPerBatch(n).viewsPerCaption(m)
            .augmentation(SimClrAugmentation.stableRep(32)).seed(0).build();
        MultiViewSampler.Epoch epoch = sampler.epoch(0)) {
      while (epoch.hasNext()) {
        MultiViewBatch batch = epoch.next();
        TrainStep.Result r = step.run(Map.of("images", batch.images(), "ids", Nd4j.createFromArray(batch.positionalIds())));
        System.out.printf("step %d loss %.4f lr %.2e%n", r.step(), r.loss(), r.learningRate());
      }
    }
    // tour:train end
    assertThat(opt.stepCount()).isEqualTo(2);
    // two steps of running averages (momentum 0.1 per view chunk) moved the running mean off zero
    assertThat(sd.getArrForVarName("image_mlp.bn1.running_mean").norm2Number().doubleValue()).isPositive();
    assertThat(opt.currentLearningRate()).isPositive();
  }

  @Test
  void augmentation() throws IOException {
    Path photo = tmp.resolve("photo.png");
    Images.writePng(photo, Nd4j.rand(DataType.FLOAT, 3, 48, 64));
    // tour:augment begin
    SimClrAugmentation aug = SimClrAugmentation.stableRep(32);           // StableRep's recipe at 32x32
    INDArray image = Images.read(photo);                                 // [3, H, W] in [0, 1], as PIL's convert("RGB")
    INDArray views = aug.apply(Nd4j.stack(0, image, image, image), 7L);  // [3, 3, 32, 32]: three views, normalised
    SimClrAugmentation mild = aug.toBuilder().cropScale(0.5, 1.0).blurProbability(0).normalize(false).build();
    // tour:augment end
    assertThat(views.shape()).containsExactly(3, 3, 32, 32);
    assertThat(views.slice(0).equalsWithEps(views.slice(1), 1e-3)).isFalse();
    INDArray plain = mild.apply(Nd4j.stack(0, image), 7L);
    assertThat(plain.minNumber().doubleValue()).isGreaterThanOrEqualTo(0.0);
    assertThat(plain.maxNumber().doubleValue()).isLessThanOrEqualTo(1.0);
  }

  @Test
  void probe() throws IOException {
    Path trainDir = toyImageFolder(tmp.resolve("train"), 6, 1);
    Path testDir = toyImageFolder(tmp.resolve("test"), 3, 2);
    VisionTransformer vit = VisionTransformer.builder().imageSize(32).patchSize(8).width(64).depth(2).heads(4).build();
    SameDiff sd = SameDiff.create();
    VitGraph encoder = vit.define(sd, sd.placeHolder("images", DataType.FLOAT, -1, 3, 32, 32));
    // tour:probe begin
    ImageFolderDataset train = ImageFolderDataset.open(trainDir);   // root/<class>/<image>, as torchvision
    ImageFolderDataset test = ImageFolderDataset.open(testDir);
    FeatureExtractor features = FeatureExtractor.builder().graph(sd).input("images").output(encoder.classToken().name())
        .preprocessing(EvalPreprocessing.builder().resizeShortSide(36).cropSize(32).build())  // 256/224 at 224
        .build();
    INDArray trainX = features.extractCached(train, tmp.resolve("train.npy"));   // cached as .npy
    INDArray testX = features.extract(test);

    // CLIP/SynCLR protocol: z-scored features, L-BFGS, λ swept on a 20 % validation split, refit
    LinearProbeModel probe = LinearProbe.builder().build().fit(trainX, train.labels());
    ProbeResult linear = probe.evaluate(testX, test.labels());    // top1(), meanPerClassAccuracy(), lambda()
    ProbeResult knn = KnnClassifier.builder().k(5).build().fit(trainX, train.labels()).evaluate(testX, test.labels());
    // tour:probe end
    assertThat(trainX.shape()).containsExactly(18, 64);
    assertThat(testX.shape()).containsExactly(9, 64);
    assertThat(linear.numClasses()).isEqualTo(3);
    assertThat(linear.top1()).isBetween(0.0, 1.0);
    assertThat(knn.top1()).isBetween(0.0, 1.0);
    assertThat(Files.exists(tmp.resolve("train.npy"))).isTrue();
  }

  /** Three classes of random-noise images whose mean brightness is the class: easy for any feature. */
  static Path toyImageFolder(Path root, int perClass, long seed) throws IOException {
    Random rnd = new Random(seed);
    for (int c = 0; c < 3; c++) {
      Path dir = Files.createDirectories(root.resolve("class" + c));
      for (int j = 0; j < perClass; j++) {
        float[] px = new float[3 * 40 * 40];
        for (int i = 0; i < px.length; i++) {
          px[i] = Math.min(1f, Math.max(0f, 0.2f + 0.3f * c + 0.1f * (float) rnd.nextGaussian()));
        }
        Images.writePng(dir.resolve(j + ".png"), Nd4j.create(px, new long[] {3, 40, 40}, 'c'));
      }
    }
    return root;
  }

  @Test
  void pipeline() throws IOException {
    Path sdFolder = TinyPipelineFolder.write(tmp.resolve("tiny-sd"), 3);
    int steps = 2;
    int size = TinyPipelineFolder.SIZE;
    Path out = tmp;
    // tour:pipeline begin
    // A diffusers folder: model_index.json, tokenizer/, text_encoder/, unet/, vae/, scheduler/.
    // StableRep's sampler is the default: DDIM, 50 steps, guidance 2, 512x512.
    StableDiffusionPipeline pipe = StableDiffusionPipeline.builder().modelDirectory(sdFolder)
        .steps(steps).height(size).width(size).build();
    List<INDArray> cats = pipe.generate("a photo of a cat", 2, 42L);   // each [3, size, size] in [0, 1]
    Images.writePng(out.resolve("cat-0.png"), cats.get(0));
    // tour:pipeline end
    assertThat(cats).hasSize(2);
    assertThat(Images.read(out.resolve("cat-0.png")).shape()).containsExactly(3, size, size);
    assertThat(pipe.guidanceScale()).isEqualTo(2.0);
  }

  // ---------------------------------------------------------------- README == this file

  @Test
  void readmeShowsExactlyTheCodeThatRunsHere() throws IOException {
    Map<String, List<String>> here = blocks(Files.readString(SOURCE, StandardCharsets.UTF_8),
        Pattern.compile("(?m)^[ \\t]*// tour:([a-z]+) begin[ \\t]*\\n(.*?)^[ \\t]*// tour:\\1 end[ \\t]*$", Pattern.DOTALL));
    Map<String, List<String>> readme = blocks(Files.readString(README, StandardCharsets.UTF_8),
        Pattern.compile("(?m)^<!-- tour:([a-z]+) -->\\n```java\\n(.*?)^```\\n<!-- /tour:\\1 -->$", Pattern.DOTALL));
    assertThat(here.keySet()).containsExactly("loss", "vit", "train", "augment", "probe", "pipeline");
    assertThat(readme.keySet()).as("tour snippets in README.md").containsExactlyElementsOf(here.keySet());
    for (String name : here.keySet()) {
      assertThat(readme.get(name)).as("README snippet tour:%s against %s", name, SOURCE).isEqualTo(here.get(name));
    }
  }

  /** name → the block's lines, common indentation and trailing blanks removed. */
  static Map<String, List<String>> blocks(String text, Pattern pattern) {
    Map<String, List<String>> out = new LinkedHashMap<>();
    Matcher m = pattern.matcher(text);
    while (m.find()) {
      List<String> lines = new ArrayList<>();
      for (String line : m.group(2).split("\n", -1)) {
        lines.add(line.stripTrailing());
      }
      while (!lines.isEmpty() && lines.get(lines.size() - 1).isEmpty()) {
        lines.remove(lines.size() - 1);
      }
      int indent = lines.stream().filter(s -> !s.isEmpty()).mapToInt(s -> s.length() - s.stripLeading().length())
          .min().orElse(0);
      lines.replaceAll(s -> s.isEmpty() ? s : s.substring(indent));
      assertThat(out.put(m.group(1), lines)).as("tour:%s appears once", m.group(1)).isNull();
    }
    return out;
  }
}
