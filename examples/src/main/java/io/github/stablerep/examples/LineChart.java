package io.github.stablerep.examples;

import io.github.stablerep.core.io.AtomicFiles;
import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import javax.imageio.ImageIO;

/** A minimal line chart written as PNG with java.awt, so examples need no plotting library. */
public final class LineChart {

  private record Series(String name, double[] x, double[] y, Color color) {}

  private final String title;
  private final String xLabel;
  private final String yLabel;
  private final List<Series> series = new ArrayList<>();
  private static final Color[] PALETTE = {
    new Color(0x1f77b4), new Color(0xd62728), new Color(0x2ca02c), new Color(0x9467bd)
  };

  public LineChart(String title, String xLabel, String yLabel) {
    this.title = title;
    this.xLabel = xLabel;
    this.yLabel = yLabel;
  }

  public LineChart add(String name, double[] x, double[] y) {
    series.add(new Series(name, x.clone(), y.clone(), PALETTE[series.size() % PALETTE.length]));
    return this;
  }

  /** Writes the chart atomically: a temporary file in the same folder, then a move. */
  public void writePng(Path file) throws IOException {
    int w = 800;
    int h = 480;
    int left = 70;
    int right = 20;
    int top = 56;
    int bottom = 55;
    BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
    Graphics2D g = img.createGraphics();
    g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
    g.setColor(Color.WHITE);
    g.fillRect(0, 0, w, h);
    double minX = Double.MAX_VALUE, maxX = -Double.MAX_VALUE, minY = Double.MAX_VALUE, maxY = -Double.MAX_VALUE;
    for (Series s : series) {
      for (int i = 0; i < s.x.length; i++) {
        minX = Math.min(minX, s.x[i]);
        maxX = Math.max(maxX, s.x[i]);
        minY = Math.min(minY, s.y[i]);
        maxY = Math.max(maxY, s.y[i]);
      }
    }
    if (maxX == minX) {
      maxX = minX + 1;
    }
    double pad = (maxY - minY) * 0.05 + 1e-9;
    minY -= pad;
    maxY += pad;
    int pw = w - left - right;
    int ph = h - top - bottom;
    g.setColor(new Color(0xeeeeee));
    g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 12));
    for (int k = 0; k <= 5; k++) {
      int y = top + ph - k * ph / 5;
      g.drawLine(left, y, left + pw, y);
      g.setColor(Color.DARK_GRAY);
      g.drawString(String.format("%.3g", minY + k * (maxY - minY) / 5), 8, y + 4);
      int x = left + k * pw / 5;
      g.drawString(String.format("%.0f", minX + k * (maxX - minX) / 5), x - 10, top + ph + 18);
      g.setColor(new Color(0xeeeeee));
    }
    g.setColor(Color.BLACK);
    g.drawRect(left, top, pw, ph);
    g.setFont(new Font(Font.SANS_SERIF, Font.BOLD, 15));
    g.drawString(title, left, 25);
    g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 13));
    g.drawString(xLabel, left + pw / 2 - 30, h - 12);
    g.drawString(yLabel, 8, top - 16);
    g.setStroke(new BasicStroke(2f));
    int legendY = top + 18;
    for (Series s : series) {
      g.setColor(s.color);
      for (int i = 1; i < s.x.length; i++) {
        g.drawLine(px(s.x[i - 1], minX, maxX, left, pw), py(s.y[i - 1], minY, maxY, top, ph),
            px(s.x[i], minX, maxX, left, pw), py(s.y[i], minY, maxY, top, ph));
      }
      g.drawLine(left + pw - 200, legendY - 4, left + pw - 175, legendY - 4);
      g.setColor(Color.BLACK);
      g.drawString(s.name, left + pw - 170, legendY);
      legendY += 18;
    }
    g.dispose();
    Files.createDirectories(file.toAbsolutePath().getParent());
    AtomicFiles.writeStream(file, out -> ImageIO.write(img, "png", out));
  }

  private static int px(double x, double min, double max, int left, int width) {
    return left + (int) Math.round((x - min) / (max - min) * width);
  }

  private static int py(double y, double min, double max, int top, int height) {
    return top + height - (int) Math.round((y - min) / (max - min) * height);
  }
}
