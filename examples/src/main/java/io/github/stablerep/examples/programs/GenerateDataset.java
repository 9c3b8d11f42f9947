package io.github.stablerep.examples.programs;

import io.github.stablerep.augment.Images;
import io.github.stablerep.augment.data.CaptionDataset;
import io.github.stablerep.augment.data.CaptionGroup;
import io.github.stablerep.models.diffusion.SchedulerType;
import io.github.stablerep.models.diffusion.StableDiffusionPipeline;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * A synthetic training set the StableRep way: {@code m} Stable Diffusion images per caption at
 * guidance 2, written as PNGs with a caption manifest that {@code CaptionDataset.fromManifest}
 * (and so {@code MultiViewSampler} and {@code OwnTrainingLoop --data}) reads.
 *
 * <pre>
 * GenerateDataset --model SD_FOLDER [--captions FILE] [--out DIR] [--images 4] [--steps 50] [--size 512]
 *                 [--seed 0]
 * </pre>
 *
 * {@code SD_FOLDER} is a diffusers folder ({@code model_index.json}, {@code tokenizer/}, {@code
 * text_encoder/}, {@code unet/}, {@code vae/}, {@code scheduler/}), e.g. a download of
 * Stable Diffusion v1.5 in diffusers format with its safetensors files. Without {@code --model} it explains
 * that and exits with status 2: the weights are several gigabytes and cannot be fetched by this
 * program. {@code --captions} is a UTF-8 file with one caption per line (three built-in captions
 * otherwise). {@code GenerationJob} is the resumable, batched version of this loop.
 */
public final class GenerateDataset {

  static final List<String> DEFAULT_CAPTIONS = List.of(
      "a photo of a golden retriever on a beach",
      "a red bicycle leaning against a brick wall",
      "a bowl of ramen on a wooden table");

  private GenerateDataset() {}

  public static void main(String[] args) throws IOException {
    int status = run(args, System.out, System.err);
    if (status != 0) {
      System.exit(status);
    }
  }

  /** The program; returns the exit status (0, or 2 for missing or bad arguments). */
  static int run(String[] args, PrintStream out, PrintStream err) throws IOException {
    // mvn exec:exec passes -Ddemo.args="--a 1 --b 2" as one argument: split it on whitespace
    args = Arrays.stream(args).flatMap(a -> Arrays.stream(a.trim().split("\\s+"))).filter(a -> !a.isBlank())
        .toArray(String[]::new);
    List<String> known = List.of("model", "captions", "out", "images", "steps", "size", "seed");
    Map<String, String> o = new HashMap<>();
    for (int i = 0; i < args.length; i += 2) {
      if (!args[i].startsWith("--") || !known.contains(args[i].substring(2)) || i + 1 >= args.length) {
        err.println("generate-dataset: expected --name value with a name in " + known + ", found '" + args[i] + "'"
            + (i + 1 >= args.length ? " without a value" : ""));
        return 2;
      }
      o.put(args[i].substring(2), args[i + 1]);
    }
    if (!o.containsKey("model")) {
      err.println("""
          generate-dataset: needs --model SD_FOLDER, a Stable Diffusion model in diffusers' layout:
            SD_FOLDER/model_index.json, tokenizer/, text_encoder/, unet/, vae/, scheduler/
          for example Stable Diffusion v1.5 in diffusers format from the Hugging Face Hub (several GB
          of safetensors; *.fp16 variants are read too). This program does not download weights:
          fetch the folder yourself, then run
            GenerateDataset --model sd15 --captions captions.txt --out synth --images 4""");
      return 2;
    }
    List<String> captions = DEFAULT_CAPTIONS;
    if (o.containsKey("captions")) {
      captions = Files.readAllLines(Path.of(o.get("captions")), StandardCharsets.UTF_8).stream()
          .map(String::strip).filter(line -> !line.isEmpty()).toList();
    }
    Path model = Path.of(o.get("model"));
    Path outDir = Path.of(o.getOrDefault("out", "synthetic-dataset"));
    int perCaption = Integer.parseInt(o.getOrDefault("images", "4"));
    int size = Integer.parseInt(o.getOrDefault("size", "512"));
    long seed = Long.parseLong(o.getOrDefault("seed", "0"));

    // StableRep's sampler: DDIM, 50 steps, guidance 2 (low guidance gives more diverse images).
    StableDiffusionPipeline pipeline = StableDiffusionPipeline.builder().modelDirectory(model)
        .scheduler(SchedulerType.DDIM).steps(Integer.parseInt(o.getOrDefault("steps", "50")))
        .guidanceScale(2.0).height(size).width(size).build();

    List<CaptionGroup> groups = new ArrayList<>();
    for (int c = 0; c < captions.size(); c++) {
      String id = String.format("%05d", c);
      Path dir = Files.createDirectories(outDir.resolve(id));
      String progressPrefix = String.format("caption %d/%d", c + 1, captions.size());
      StableDiffusionPipeline.Progress progress = new StableDiffusionPipeline.Progress() {
        @Override
        public void onStep(int done, int total, long timestep) {
          out.printf("\r%s  step %d/%d", progressPrefix, done, total);
        }
      };
      // one seed per caption: the same seed and caption list give the same dataset
      List<INDArray> images = pipeline.generate(captions.get(c), perCaption, seed + c, progress);
      List<Path> paths = new ArrayList<>();
      for (int j = 0; j < images.size(); j++) {
        Path png = dir.resolve(j + ".png");
        Images.writePng(png, images.get(j));       // atomic: a temporary file renamed into place
        paths.add(png.toAbsolutePath());
      }
      groups.add(new CaptionGroup(id, captions.get(c), paths));
    }
    out.println();
    CaptionDataset dataset = CaptionDataset.of(groups);
    Path manifest = outDir.resolve("manifest.tsv");
    dataset.writeManifest(manifest);
    out.println("wrote " + dataset.imageCount() + " images and " + manifest + ": " + CaptionDataset.fromManifest(manifest));
    return 0;
  }
}
