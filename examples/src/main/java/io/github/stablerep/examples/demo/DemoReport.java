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
 * @param rows multi-positive, SimCLR, random init, raw pixels, in that order
 * @param phases wall time of each phase in this run (a phase finished by an earlier, resumed
 *     run shows only what this run spent on it)
 * @param pictures the PNG files written
 */
public record DemoReport(List<Row> rows, Map<String, Duration> phases, List<Path> pictures) {

  public DemoReport {
    rows = List.copyOf(rows);
    phases = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(phases));
    pictures = List.copyOf(pictures);
  }

  /** Accuracies of one method, fractions in [0, 1]. */
  public record Row(String method, double probeTop1, double probeMeanPerClass, double knnTop1,
      double knnMeanPerClass) {}

  /** The row of {@code method}. */
  public Row row(String method) {
    return rows.stream().filter(r -> r.method().equals(method)).findFirst()
        .orElseThrow(() -> new IllegalArgumentException("method: expected one of the table's, found " + method));
  }

  /** The results table (percentages, one decimal); the same for a resumed and an uninterrupted run. */
  public String table() {
    StringBuilder b = new StringBuilder();
    b.append(String.format("| %-16s | %12s | %17s | %10s | %15s |%n", "method", "probe top-1", "probe mean/class",
        "kNN top-1", "kNN mean/class"));
    b.append("|------------------|-------------:|------------------:|-----------:|----------------:|\n");
    for (Row r : rows) {
      b.append(String.format("| %-16s | %11.1f%% | %16.1f%% | %9.1f%% | %14.1f%% |%n", r.method(), 100 * r.probeTop1(),
          100 * r.probeMeanPerClass(), 100 * r.knnTop1(), 100 * r.knnMeanPerClass()));
    }
    return b.toString();
  }

  /** Phase wall times, one line each. */
  public String times() {
    StringBuilder b = new StringBuilder();
    phases.forEach((k, v) -> b.append(String.format("  %-26s %d:%02d%n", k, v.toMinutes(), v.toSecondsPart())));
    return b.toString();
  }
}
