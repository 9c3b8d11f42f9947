package io.github.stablerep.examples.demo;

import static com.google.common.base.Preconditions.checkArgument;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;

/**
 * The main job's options, as plain values with a parser and validation, so that a command line
 * (this class's {@link #parse} or picocli) and tests can build them alike.
 *
 * @param out output folder: checkpoints, features, results and the PNGs
 * @param size {@link Size#FULL} (the README's run) or {@link Size#REDUCED} (CI)
 * @param steps optimiser steps per pre-training phase; 0 takes the size's default
 * @param data a Fashion-MNIST IDX folder, an ImageFolder root (with {@code train/} and {@code
 *     test/}), or a caption manifest; null for the embedded subset
 * @param generator a diffusers model folder to generate the training images with; null for the
 *     shipped tiny Stable Diffusion
 * @param generatorSteps denoising steps per generated image; 0 takes the size's default
 * @param resume continue from the checkpoints in {@code out} instead of starting over
 * @param seed seeds the caption groups, initialisation, sampling, augmentation, generation and
 *     the probe's validation split
 */
public record DemoOptions(Path out, Size size, int steps, Path data, Path generator, int generatorSteps,
    boolean resume, long seed) {

  /** The two run sizes. */
  public enum Size {
    /** The README's run: under 15 minutes on 2 quiet cores. */
    FULL,
    /** The CI integration test's run: 80 generated images, a small ViT, a probe on 2 000 images. */
    REDUCED
  }

  public static final String USAGE = String.join("\n",
      "usage: stablerep-demo [--out DIR] [--size full|reduced] [--steps N] [--data DIR|MANIFEST]",
      "                      [--generator DIFFUSERS_DIR] [--generator-steps N] [--resume] [--seed 0]",
      "  --out DIR           output folder (default target/stablerep-demo)",
      "  --size S            full: the README's run (default); reduced: the CI size",
      "  --steps N           optimiser steps of each pre-training phase (default by size)",
      "  --data PATH         Fashion-MNIST IDX folder, ImageFolder root with train/ and test/,",
      "                      or a caption manifest (caption_id<TAB>caption<TAB>path); default: the",
      "                      embedded Fashion-MNIST subset",
      "  --generator DIR     a diffusers Stable Diffusion folder to generate the training images",
      "                      with (default: the shipped tiny Stable Diffusion, tiny-sd-fmnist)",
      "  --generator-steps N DPM-Solver++ steps per generated image (default by size: 10, reduced 8)",
      "  --resume            continue a killed run from the checkpoints in --out",
      "  --seed N            makes the run deterministic (default 0)");

  public DemoOptions {
    checkArgument(out != null, "--out: expected a folder, found null");
    checkArgument(size != null, "--size: expected full or reduced, found null");
    checkArgument(steps >= 0, "--steps: expected >= 1, found %s", steps);
    checkArgument(generatorSteps >= 0, "--generator-steps: expected >= 1, found %s", generatorSteps);
    checkArgument(data == null || Files.exists(data), "--data: expected an existing folder or manifest, found %s "
        + "(missing)", data);
    checkArgument(generator == null || Files.isDirectory(generator),
        "--generator: expected a diffusers model folder, found %s (missing or not a folder)", generator);
  }

  /** Defaults: target/stablerep-demo, full size, seed 0. */
  public static DemoOptions defaults() {
    return new DemoOptions(Path.of("target", "stablerep-demo"), Size.FULL, 0, null, null, 0, false, 0);
  }

  public DemoOptions withOut(Path v) { return new DemoOptions(v, size, steps, data, generator, generatorSteps, resume, seed); }
  public DemoOptions withSize(Size v) { return new DemoOptions(out, v, steps, data, generator, generatorSteps, resume, seed); }
  public DemoOptions withSteps(int v) { return new DemoOptions(out, size, v, data, generator, generatorSteps, resume, seed); }
  public DemoOptions withData(Path v) { return new DemoOptions(out, size, steps, v, generator, generatorSteps, resume, seed); }
  public DemoOptions withGenerator(Path v) { return new DemoOptions(out, size, steps, data, v, generatorSteps, resume, seed); }
  public DemoOptions withGeneratorSteps(int v) { return new DemoOptions(out, size, steps, data, generator, v, resume, seed); }
  public DemoOptions withResume(boolean v) { return new DemoOptions(out, size, steps, data, generator, generatorSteps, v, seed); }
  public DemoOptions withSeed(long v) { return new DemoOptions(out, size, steps, data, generator, generatorSteps, resume, v); }

  /**
   * Parses command-line arguments. Arguments are also split on whitespace, because Maven's
   * {@code exec:exec} passes {@code -Ddemo.args="--seed 7 --resume"} as one argument.
   *
   * @return null when {@code --help} was asked for
   * @throws IllegalArgumentException one line naming the option, what was expected and found
   */
  public static DemoOptions parse(String... args) {
    String[] a = Arrays.stream(args).flatMap(s -> Arrays.stream(s.trim().split("\\s+"))).filter(s -> !s.isBlank())
        .toArray(String[]::new);
    DemoOptions o = defaults();
    for (int i = 0; i < a.length; i++) {
      String name = a[i];
      if (name.equals("--help") || name.equals("-h")) {
        return null;
      }
      if (name.equals("--resume")) {
        o = o.withResume(true);
        continue;
      }
      checkArgument(name.startsWith("--"), "expected an option starting with --, found '%s' (see --help)", name);
      checkArgument(i + 1 < a.length, "option %s expects a value", name);
      String v = a[++i];
      switch (name) {
        case "--out" -> o = o.withOut(Path.of(v));
        case "--size" -> {
          String s = v.toUpperCase(Locale.ROOT);
          checkArgument(s.equals("FULL") || s.equals("REDUCED"), "--size: expected full or reduced, found '%s'", v);
          o = o.withSize(Size.valueOf(s));
        }
        case "--steps" -> o = o.withSteps(integer(name, v));
        case "--data" -> o = o.withData(Path.of(v));
        case "--generator" -> o = o.withGenerator(Path.of(v));
        case "--generator-steps" -> o = o.withGeneratorSteps(integer(name, v));
        case "--seed" -> {
          try {
            o = o.withSeed(Long.parseLong(v));
          } catch (NumberFormatException e) {
            throw new IllegalArgumentException("--seed: expected an integer, found '" + v + "'");
          }
        }
        default -> throw new IllegalArgumentException("unknown option " + name + " (see --help)");
      }
    }
    return o;
  }

  private static int integer(String name, String v) {
    int n;
    try {
      n = Integer.parseInt(v);
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException(name + ": expected a whole number, found '" + v + "'");
    }
    checkArgument(n >= 1, "%s: expected >= 1, found %s", name, n);
    return n;
  }
}
