package io.github.stablerep.examples.demo;

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
import java.util.List;
import java.util.Random;
import javax.imageio.ImageIO;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * The job's pictures, drawn with Java2D so that examples need no plotting library: a PCA
 * scatter of features coloured by class, and a grid of augmented views per caption.
 */
public final class Pictures {

  private Pictures() {}

  /** Ten colours that stay apart (matplotlib's tab10). */
  static final Color[] TAB10 = {new Color(0x1f77b4), new Color(0xff7f0e), new Color(0x2ca02c), new Color(0xd62728),
      new Color(0x9467bd), new Color(0x8c564b), new Color(0xe377c2), new Color(0x7f7f7f), new Color(0xbcbd22),
      new Color(0x17becf)};

  /** One panel of a scatter: a title and {@code [N, D]} features. */
  public record Panel(String title, INDArray features) {}

  /**
   * The first two principal components of {@code x} ({@code [N, D]}): rows centred, the top
   * eigenvectors of the covariance found by power iteration with deflation (seeded start, 200
   * iterations, in double), then each row projected.
   *
   * @return {@code [N][2]}
   */
  public static double[][] pca2(INDArray x) {
    int n = (int) x.size(0);
    int d = (int) x.size(1);
    double[][] a = x.castTo(org.nd4j.linalg.api.buffer.DataType.DOUBLE).toDoubleMatrix();
    double[] mean = new double[d];
    for (double[] row : a) {
      for (int j = 0; j < d; j++) {
        mean[j] += row[j] / n;
      }
    }
    double[][] cov = new double[d][d];
    for (double[] row : a) {
      for (int j = 0; j < d; j++) {
        row[j] -= mean[j];
      }
      for (int j = 0; j < d; j++) {
        double rj = row[j];
        for (int k = j; k < d; k++) {
          cov[j][k] += rj * row[k];
        }
      }
    }
    for (int j = 0; j < d; j++) {
      for (int k = 0; k < j; k++) {
        cov[j][k] = cov[k][j];
      }
    }
    double[][] pcs = new double[2][];
    Random rng = new Random(1);
    for (int c = 0; c < 2; c++) {
      double[] v = new double[d];
      for (int j = 0; j < d; j++) {
        v[j] = rng.nextGaussian();
      }
      for (int it = 0; it < 200; it++) {
        double[] w = new double[d];
        for (int j = 0; j < d; j++) {
          double s = 0;
          for (int k = 0; k < d; k++) {
            s += cov[j][k] * v[k];
          }
          w[j] = s;
        }
        for (int p = 0; p < c; p++) { // deflate: stay orthogonal to the components found
          double dot = 0;
          for (int j = 0; j < d; j++) {
            dot += w[j] * pcs[p][j];
          }
          for (int j = 0; j < d; j++) {
            w[j] -= dot * pcs[p][j];
          }
        }
        double norm = 0;
        for (double wj : w) {
          norm += wj * wj;
        }
        norm = Math.sqrt(norm);
        if (norm == 0) {
          break;
        }
        for (int j = 0; j < d; j++) {
          v[j] = w[j] / norm;
        }
      }
      pcs[c] = v;
    }
    double[][] out = new double[n][2];
    for (int i = 0; i < n; i++) {
      for (int c = 0; c < 2; c++) {
        double s = 0;
        for (int j = 0; j < d; j++) {
          s += a[i][j] * pcs[c][j];
        }
        out[i][c] = s;
      }
    }
    return out;
  }

  /** Writes side-by-side PCA scatters of the panels' features, points coloured by label. */
  public static void writePcaScatter(Path file, String title, List<Panel> panels, int[] labels, List<String> classes)
      throws IOException {
    int pw = 380;
    int ph = 380;
    int top = 50;
    int legend = 26 + 18 * ((classes.size() + 4) / 5);
    BufferedImage img = new BufferedImage(pw * panels.size(), top + ph + legend, BufferedImage.TYPE_INT_RGB);
    Graphics2D g = canvas(img);
    g.setFont(new Font(Font.SANS_SERIF, Font.BOLD, 15));
    g.drawString(title, 10, 20);
    for (int p = 0; p < panels.size(); p++) {
      double[][] xy = pca2(panels.get(p).features());
      double minX = Double.MAX_VALUE, maxX = -Double.MAX_VALUE, minY = Double.MAX_VALUE, maxY = -Double.MAX_VALUE;
      for (double[] r : xy) {
        minX = Math.min(minX, r[0]);
        maxX = Math.max(maxX, r[0]);
        minY = Math.min(minY, r[1]);
        maxY = Math.max(maxY, r[1]);
      }
      double sx = (pw - 30) / Math.max(maxX - minX, 1e-12);
      double sy = (ph - 30) / Math.max(maxY - minY, 1e-12);
      int x0 = p * pw;
      g.setColor(Color.BLACK);
      g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 13));
      g.drawString(panels.get(p).title(), x0 + 15, top - 8);
      g.setColor(new Color(0xdddddd));
      g.drawRect(x0 + 5, top, pw - 10, ph - 10);
      for (int i = 0; i < xy.length; i++) {
        g.setColor(alpha(TAB10[labels[i] % TAB10.length], 150));
        int px = x0 + 15 + (int) Math.round((xy[i][0] - minX) * sx);
        int py = top + ph - 25 - (int) Math.round((xy[i][1] - minY) * sy);
        g.fillOval(px - 2, py - 2, 5, 5);
      }
    }
    g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 12));
    for (int c = 0; c < classes.size(); c++) {
      int lx = 15 + (c % 5) * 150;
      int ly = top + ph + 14 + (c / 5) * 18;
      g.setColor(TAB10[c % TAB10.length]);
      g.fillRect(lx, ly - 9, 10, 10);
      g.setColor(Color.BLACK);
      g.drawString(classes.get(c), lx + 15, ly);
    }
    g.dispose();
    write(img, file);
  }

  /**
   * Writes a grid: one row per caption (its text on the left), one column per augmented view.
   *
   * @param views {@code [rows * cols, 3, S, S]} in view-major order (row {@code v * rows + i}
   *     is view v of caption i), values in [0, 1]
   */
  public static void writeViewGrid(Path file, String title, INDArray views, List<String> captions, int cols)
      throws IOException {
    writeViewGrid(file, title, views, captions, cols, Math.max(1, 84 / (int) views.size(2)));
  }

  /** As {@link #writeViewGrid(Path, String, INDArray, List, int)}, each image drawn {@code scale} times its size. */
  public static void writeViewGrid(Path file, String title, INDArray views, List<String> captions, int cols,
      int scale) throws IOException {
    int rows = captions.size();
    int s = (int) views.size(2);
    int tile = s * scale + 4;
    Font captionFont = new Font(Font.SANS_SERIF, Font.PLAIN, 12);
    java.awt.FontMetrics metrics = new BufferedImage(1, 1, BufferedImage.TYPE_INT_RGB).createGraphics()
        .getFontMetrics(captionFont);
    int left = 250;
    for (String c : captions) {
      left = Math.max(left, metrics.stringWidth(c) + 16);
    }
    int top = 36;
    BufferedImage img = new BufferedImage(left + cols * tile + 8, top + rows * tile + 8, BufferedImage.TYPE_INT_RGB);
    Graphics2D g = canvas(img);
    g.setFont(new Font(Font.SANS_SERIF, Font.BOLD, 14));
    g.drawString(title, 8, 22);
    g.setFont(captionFont);
    float[] px = views.castTo(org.nd4j.linalg.api.buffer.DataType.FLOAT).dup().data().asFloat();
    int plane = s * s;
    for (int i = 0; i < rows; i++) {
      g.setColor(Color.BLACK);
      g.drawString(captions.get(i), 8, top + i * tile + tile / 2 + 4);
      for (int v = 0; v < cols; v++) {
        int base = (v * rows + i) * 3 * plane;
        BufferedImage t = new BufferedImage(s, s, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < s; y++) {
          for (int x = 0; x < s; x++) {
            int r = byteOf(px[base + y * s + x]);
            int gr = byteOf(px[base + plane + y * s + x]);
            int b = byteOf(px[base + 2 * plane + y * s + x]);
            t.setRGB(x, y, (r << 16) | (gr << 8) | b);
          }
        }
        g.drawImage(t, left + v * tile, top + i * tile, s * scale, s * scale, null);
      }
    }
    g.dispose();
    write(img, file);
  }

  private static int byteOf(float v) {
    return Math.max(0, Math.min(255, Math.round(v * 255f)));
  }

  private static Color alpha(Color c, int a) {
    return new Color(c.getRed(), c.getGreen(), c.getBlue(), a);
  }

  private static Graphics2D canvas(BufferedImage img) {
    Graphics2D g = img.createGraphics();
    g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
    g.setRenderingHint(RenderingHints.KEY_INTERPOLATION, RenderingHints.VALUE_INTERPOLATION_NEAREST_NEIGHBOR);
    g.setColor(Color.WHITE);
    g.fillRect(0, 0, img.getWidth(), img.getHeight());
    g.setColor(Color.BLACK);
    g.setStroke(new BasicStroke(1f));
    return g;
  }

  /** Atomically: a temporary file in the same folder, then a move. */
  static void write(BufferedImage img, Path file) throws IOException {
    Path dir = file.toAbsolutePath().getParent();
    Files.createDirectories(dir);
    AtomicFiles.writeStream(file, out -> ImageIO.write(img, "png", out));
  }
}
