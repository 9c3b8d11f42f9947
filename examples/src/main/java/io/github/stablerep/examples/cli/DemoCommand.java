package io.github.stablerep.examples.cli;

import io.github.stablerep.examples.demo.DemoOptions;
import io.github.stablerep.examples.demo.StableRepDemo;
import java.nio.file.Path;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** The main job ({@link StableRepDemo}) with its options. */
@Command(
    name = "demo",
    description = {
      "The main job, StableRep in miniature: generate m images per caption with the shipped tiny Stable"
          + " Diffusion (or --generator), pre-train a small ViT on them with the multi-positive loss and with"
          + " SimCLR, and with SimCLR on as many real images, on the same budget; linear-probe and kNN all"
          + " against a random-init encoder and raw pixels on real test images; print the table and phase"
          + " times, and write generated images, checkpoints, features and pictures to --out.",
      "--data MANIFEST trains on a caption manifest instead of generating. Deterministic under --seed;"
          + " --resume continues a killed run."
    })
final class DemoCommand extends CliCommand {

  @Option(names = "--out", defaultValue = "target/stablerep-demo", paramLabel = "DIR",
      description = "Output folder: checkpoints, features, results and PNGs.")
  Path outDir;

  @Option(names = "--size", defaultValue = "FULL", paramLabel = "SIZE",
      description = "${COMPLETION-CANDIDATES}: FULL is the README's run, REDUCED the CI size.")
  DemoOptions.Size size;

  @Option(names = "--steps", defaultValue = "0", paramLabel = "N",
      description = "Optimiser steps of each pre-training phase (0: the size's default).")
  int steps;

  @Option(names = "--data", paramLabel = "PATH",
      description = "A Fashion-MNIST IDX folder, an ImageFolder root with train/ and test/, or a caption manifest"
          + " (default: the embedded Fashion-MNIST subset).")
  Path data;

  @Option(names = "--generator", paramLabel = "DIR",
      description = "A diffusers Stable Diffusion folder to generate the training images with (default: the"
          + " shipped tiny Stable Diffusion, tiny-sd-fmnist).")
  Path generator;

  @Option(names = "--generator-steps", defaultValue = "0", paramLabel = "N",
      description = "DPM-Solver++ steps per generated image (0: the size's default).")
  int generatorSteps;

  @Option(names = "--resume", defaultValue = "false", description = "Continue a killed run from the checkpoints in --out.")
  boolean resume;

  @Option(names = "--seed", defaultValue = "0", paramLabel = "S", description = "Seed of the whole run.")
  long seed;

  /** The job's options as given (validated by {@link DemoOptions}: a bad value is a usage error). */
  DemoOptions options() {
    return new DemoOptions(outDir, size, steps, data, generator, generatorSteps, resume, seed);
  }

  @Override
  public Integer call() throws Exception {
    StableRepDemo.run(options(), out);
    return 0;
  }
}
