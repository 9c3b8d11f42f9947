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
      "The main job: pre-train a small ViT with the multi-positive loss and with SimCLR on the same"
          + " budget, linear-probe and kNN both against a random-init encoder and raw pixels, print"
          + " the table and phase times, and write checkpoints, features and pictures to --out.",
      "Without --data it runs on the embedded Fashion-MNIST subset, where real images of a class"
          + " stand in for generated images of a caption; --generator generates the training images"
          + " with Stable Diffusion instead, as the paper does. Deterministic under --seed; --resume"
          + " continues a killed run."
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
      description = "A diffusers Stable Diffusion folder: generate m images per caption (guidance 2) and train on"
          + " them (default: real images stand in).")
  Path generator;

  @Option(names = "--generator-steps", defaultValue = "50", paramLabel = "N",
      description = "Denoising steps per generated image.")
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
