package io.github.stablerep.examples.cli;

import io.github.stablerep.examples.ConsoleProgress;
import io.github.stablerep.examples.GenerationJob;
import io.github.stablerep.models.diffusion.SchedulerType;
import io.github.stablerep.models.diffusion.StableDiffusionPipeline;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** Captions to images with Stable Diffusion, through {@link GenerationJob} (resumable). */
@Command(
    name = "generate",
    description = {
      "Generate N images per caption with Stable Diffusion, as StableRep builds its synthetic"
          + " dataset, into OUT/<caption id>/<i>.png plus OUT/manifest.tsv (the caption manifest"
          + " that 'pretrain' reads).",
      "Captions: a text file (one caption per line) or a TSV of caption_id<TAB>caption lines.",
      "Resumable: rerun the same command after a kill and it finishes with the same files; keep"
          + " --seed and --batch the same, they decide which image each file holds."
    })
final class GenerateCommand extends CliCommand {

  @Option(names = "--model", required = true, paramLabel = "DIR",
      description = "A diffusers Stable Diffusion folder (model_index.json, unet/, vae/, text_encoder/, tokenizer/,"
          + " scheduler/).")
  Path model;

  @Option(names = "--captions", required = true, paramLabel = "FILE",
      description = "Captions: plain text, one per line, or TSV caption_id<TAB>caption.")
  Path captions;

  @Option(names = "--out", required = true, paramLabel = "DIR", description = "Output folder.")
  Path outDir;

  @Option(names = "--images", defaultValue = "10", paramLabel = "N", description = "Images per caption.")
  int images;

  @Option(names = "--size", defaultValue = "256", paramLabel = "PX", description = "Saved image size (square).")
  int size;

  /** Largest --generated-size: 4096 px is 8x SD v1.5's native size, far beyond what it was trained for. */
  static final int MAX_GENERATED_SIZE = 4096;

  @Option(names = "--generated-size", defaultValue = "512", paramLabel = "PX",
      description = "Size the pipeline generates at (a multiple of 8); resized to --size when they differ.")
  int generatedSize;

  @Option(names = "--steps", defaultValue = "50", paramLabel = "N", description = "Denoising steps.")
  int steps;

  @Option(names = "--guidance", defaultValue = "2.0", paramLabel = "W",
      description = "Classifier-free guidance scale (StableRep: 2).")
  double guidance;

  @Option(names = "--scheduler", defaultValue = "DDIM", paramLabel = "TYPE",
      description = "Sampler: ${COMPLETION-CANDIDATES}.")
  SchedulerType scheduler;

  @Option(names = "--negative-prompt", defaultValue = "", paramLabel = "TEXT",
      description = "Negative prompt (empty: none, as StableRep).")
  String negativePrompt;

  @Option(names = "--batch", defaultValue = "2", paramLabel = "N", description = "Images per pipeline call.")
  int batch;

  @Option(names = "--seed", defaultValue = "0", paramLabel = "S", description = "Seed of the initial latents.")
  long seed;

  @Override
  Map<String, String> builderFields() {
    return Map.of("guidanceScale", "--guidance", "batchSize", "--batch", "imagesPerCaption", "--images",
        "outputSize", "--size");
  }

  @Override
  public Integer call() throws Exception {
    if (!Files.isDirectory(model)) {
      throw usage("--model: expected a diffusers model folder, found %s", Files.exists(model) ? model + " (a file)"
          : model + " (no such folder)");
    }
    existingFile("--captions", captions);
    // bounded here: 65536 reached ND4J's allocator as an ND4JIllegalStateException
    if (generatedSize < 8 || generatedSize > MAX_GENERATED_SIZE || generatedSize % 8 != 0) {
      throw usage("--generated-size: expected a multiple of 8 in [8, %d], found %d", MAX_GENERATED_SIZE, generatedSize);
    }
    GenerationJob job = GenerationJob.builder().captions(captions).outputDirectory(outDir).imagesPerCaption(images)
        .outputSize(size).seed(seed).batchSize(batch).build();
    StableDiffusionPipeline pipeline = StableDiffusionPipeline.builder().modelDirectory(model).scheduler(scheduler)
        .steps(steps).guidanceScale(guidance).height(generatedSize).width(generatedSize)
        .negativePrompt(negativePrompt).build();
    ConsoleProgress[] bar = {null};
    GenerationJob.Result r = job.run(pipeline, (done, total, image, skipped) -> {
      if (bar[0] == null) {
        bar[0] = progress("generate", total);
      }
      bar[0].update(done, (skipped ? "kept " : "wrote ") + outDir.relativize(image));
    }, null);
    out.printf("generate: %d images written, %d already there; manifest %s%n", r.generated(), r.skipped(),
        r.manifest());
    return 0;
  }
}
