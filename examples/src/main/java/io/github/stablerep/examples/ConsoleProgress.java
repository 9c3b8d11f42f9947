package io.github.stablerep.examples;

import java.io.PrintStream;
import java.time.Duration;

/**
 * A one-line progress bar with rate and ETA. On a terminal it redraws in place; when output is
 * piped (CI logs) it prints a plain line every tenth of the way instead of a wall of carriage
 * returns.
 */
public final class ConsoleProgress {

  private final String label;
  private final long total;
  private final PrintStream out;
  private final boolean interactive;
  private final long startNanos = System.nanoTime();
  private long lastDecile = -1;

  public ConsoleProgress(String label, long total) {
    this(label, total, System.out);
  }

  /** Prints to {@code out}; redraws in place only when that is the terminal's standard output. */
  public ConsoleProgress(String label, long total, PrintStream out) {
    this.label = label;
    this.total = Math.max(1, total);
    this.out = out;
    this.interactive = System.console() != null && out == System.out;
  }

  public void update(long done, String status) {
    double fraction = Math.min(1.0, done / (double) total);
    double elapsed = (System.nanoTime() - startNanos) / 1e9;
    double eta = done == 0 ? 0 : elapsed * (total - done) / done;
    String text = String.format("%-10s %s %5.1f%% %d/%d  %s  eta %s",
        label, bar(fraction), 100 * fraction, done, total, status, format(eta));
    if (interactive) {
      out.print("\r" + text);
      if (done >= total) {
        out.println();
      }
    } else {
      long decile = (long) Math.floor(fraction * 10);
      if (decile != lastDecile || done >= total) {
        lastDecile = decile;
        out.println(text);
      }
    }
  }

  private static String bar(double fraction) {
    int width = 24;
    int filled = (int) Math.round(fraction * width);
    return "[" + "#".repeat(filled) + ".".repeat(width - filled) + "]";
  }

  private static String format(double seconds) {
    Duration d = Duration.ofSeconds(Math.round(seconds));
    return String.format("%d:%02d", d.toMinutes(), d.toSecondsPart());
  }
}
