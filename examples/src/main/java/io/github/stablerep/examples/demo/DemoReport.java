package io.github.stablerep.examples.demo;

import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What the main job produced: one row per method, the wall time of each phase in this process,
 * and the pictures written.
 *
 * @param rows StableRep on synthetic images, SimCLR on synthetic images, SimCLR on real images,
 *     random init, raw pixels, in that order
 * @param phases wall time of each phase in this run (a phase finished by an earlier, resumed
 *     run shows only what this run spent on it)
 * @param pictures the PNG files written
 * @param fidelity how faithful the generated training images are, or null when none were
 *     generated with known classes
 */
public record DemoReport(List<Row> rows, Map<String, Duration> phases, List<Path> pictures, Fidelity fidelity) {

  /**
   * How faithful the generated set is: the fraction of generated images that a small classifier
   * trained on the real training images ({@link FidelityJudge}) puts in their caption's class.
   *
   * @param judgeTestAccuracy the judge's own accuracy on the real test images
   */
  public record Fidelity(double agreement, int images, double judgeTestAccuracy) {
    /** One line for the output and {@code results.md}. */
    public String line() {
      return String.format(java.util.Locale.ROOT, "Fidelity: %.1f %% of the %d generated images are classified as "
          + "their caption's class by a small CNN trained on the real training images (%.1f %% on the real test "
          + "images).", 100 * agreement, images, 100 * judgeTestAccuracy);
    }
  }

  public DemoReport {
    rows = List.copyOf(rows);
    phases = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(phases));
    pictures = List.copyOf(pictures);
  }

  /**
   * One method: what it was pre-trained on and how, how many augmented images it saw, and its
   * accuracies (fractions in [0, 1]).
   *
   * @param data the pre-training images ("synthetic", "real", "none")
   * @param loss the pre-training loss, or "none"
   * @param imagesSeen augmented images through the encoder during pre-training (steps × n·m)
   */
  public record Row(String method, String data, String loss, long imagesSeen, double probeTop1,
      double probeMeanPerClass, double knnTop1, double knnMeanPerClass) {}

  /** The row of {@code method}. */
  public Row row(String method) {
    return rows.stream().filter(r -> r.method().equals(method)).findFirst()
        .orElseThrow(() -> new IllegalArgumentException("method: expected one of the table's, found " + method));
  }

  /** The results table (percentages, one decimal); the same for a resumed and an uninterrupted run. */
  public String table() {
    StringBuilder b = new StringBuilder();
    b.append(String.format("| %-21s | %-17s | %-22s | %11s | %11s | %9s |%n", "method", "pre-training data", "loss",
        "images seen", "probe top-1", "kNN top-1"));
    b.append("|-----------------------|-------------------|------------------------|------------:|------------:|"
        + "----------:|\n");
    for (Row r : rows) {
      b.append(String.format("| %-21s | %-17s | %-22s | %11s | %10.1f%% | %8.1f%% |%n", r.method(), r.data(),
          r.loss(), r.imagesSeen() == 0 ? "0" : String.format(java.util.Locale.ROOT, "%,d", r.imagesSeen()), 100 * r.probeTop1(),
          100 * r.knnTop1()));
    }
    return b.toString();
  }

  /** {@code results.md}: the table, then the fidelity line when the set was generated here. */
  public String markdown() {
    return fidelity == null ? table() : table() + "\n" + fidelity.line() + "\n";
  }

  /** Phase wall times, one line each. */
  public String times() {
    StringBuilder b = new StringBuilder();
    phases.forEach((k, v) -> b.append(String.format("  %-26s %d:%02d%n", k, v.toMinutes(), v.toSecondsPart())));
    return b.toString();
  }
}
