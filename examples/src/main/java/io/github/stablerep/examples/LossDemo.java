package io.github.stablerep.examples;

import io.github.stablerep.core.loss.LossResult;
import io.github.stablerep.core.loss.MultiPositiveContrastiveLoss;
import io.github.stablerep.core.optim.AdamW;
import io.github.stablerep.core.train.TrainStep;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.dataset.DataSet;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The main job until the end-to-end StableRep run lands: the multi-positive loss training an
 * encoder in a user's own loop, against SimCLR's two-view special case.
 *
 * <p><b>What stands in for what.</b> There are no images here. Each "caption" is a random
 * prototype vector; each "generated image" of it is the prototype plus small content noise,
 * concatenated with large caption-independent nuisance dimensions (the pose, background and
 * style that differ between samples of one prompt). An encoder that learns what images of a
 * caption share must learn to ignore the nuisance. Retrieval on held-out captions measures it:
 * for every image, is its nearest neighbour (cosine) an image of the same caption?
 */
public final class LossDemo {

  record Options(long seed, int steps, int trainCaptions, int testCaptions, int imagesPerCaption,
                 int batchImages, double temperature, Path out) {}

  private static final int CONTENT_DIM = 32;
  private static final int NUISANCE_DIM = 32;
  private static final int HIDDEN = 128;
  private static final int EMBED = 32;

  public static void main(String[] args) throws IOException {
    Options o;
    try {
      o = parse(args);
    } catch (IllegalArgumentException e) {
      System.err.println("loss-demo: " + e.getMessage());
      System.exit(2);
      return;
    }
    run(o);
  }

  static Options parse(String[] args) {
    long seed = 42;
    int steps = 300;
    double temperature = MultiPositiveContrastiveLoss.DEFAULT_TEMPERATURE;
    Path out = Path.of("target", "loss-demo");
    // exec:exec passes -Ddemo.args="--seed 7 --steps 500" as one argument: split on whitespace
    args = java.util.Arrays.stream(args)
        .flatMap(s -> java.util.Arrays.stream(s.trim().split("\\s+")))
        .filter(s -> !s.isBlank())
        .toArray(String[]::new);
    for (int i = 0; i < args.length; i++) {
      String a = args[i];
      if (a.equals("--help") || a.equals("-h")) {
        System.out.println("usage: loss-demo [--seed N] [--steps N] [--temperature T] [--out DIR]");
        System.exit(0);
      }
      if (i + 1 >= args.length) {
        throw new IllegalArgumentException("option " + a + " expects a value");
      }
      String v = args[++i];
      try {
        switch (a) {
          case "--seed" -> seed = Long.parseLong(v);
          case "--steps" -> steps = Integer.parseInt(v);
          case "--temperature" -> temperature = Double.parseDouble(v);
          case "--out" -> out = Path.of(v);
          default -> throw new IllegalArgumentException("unknown option " + a + " (see --help)");
        }
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException("option " + a + " expects a number, found '" + v + "'");
      }
    }
    if (steps < 1) {
      throw new IllegalArgumentException("--steps: expected >= 1, found " + steps);
    }
    return new Options(seed, steps, 96, 48, 8, 64, temperature, out);
  }

  /** Images of each caption: [captions * perCaption, CONTENT + NUISANCE], caption-major. */
  record Images(INDArray x, long[] caption) {}

  static Images makeImages(int captions, int perCaption, long seed) {
    Random rnd = new Random(seed);
    int n = captions * perCaption;
    float[] data = new float[n * (CONTENT_DIM + NUISANCE_DIM)];
    long[] caption = new long[n];
    float[] prototype = new float[CONTENT_DIM];
    int k = 0;
    for (int c = 0; c < captions; c++) {
      for (int d = 0; d < CONTENT_DIM; d++) {
        prototype[d] = (float) rnd.nextGaussian();
      }
      for (int v = 0; v < perCaption; v++) {
        caption[c * perCaption + v] = c;
        for (int d = 0; d < CONTENT_DIM; d++) {
          data[k++] = prototype[d] + 0.6f * (float) rnd.nextGaussian();
        }
        for (int d = 0; d < NUISANCE_DIM; d++) {
          data[k++] = 2.5f * (float) rnd.nextGaussian();
        }
      }
    }
    return new Images(Nd4j.create(data, new long[] {n, CONTENT_DIM + NUISANCE_DIM}), caption);
  }

  /** A 2-layer MLP encoder with the loss on top; {@link #train} trains it with a {@link TrainStep}. */
  static SameDiff encoder(long seed, MultiPositiveContrastiveLoss loss) {
    SameDiff sd = SameDiff.create();
    SDVariable x = sd.placeHolder("x", DataType.FLOAT, -1, CONTENT_DIM + NUISANCE_DIM);
    SDVariable ids = sd.placeHolder("ids", DataType.INT64, -1);
    int in = CONTENT_DIM + NUISANCE_DIM;
    SDVariable w1 = sd.var("w1", Nd4j.randn(seed, new long[] {in, HIDDEN}).castTo(DataType.FLOAT).muli(Math.sqrt(2.0 / in)));
    SDVariable b1 = sd.var("b1", Nd4j.zeros(DataType.FLOAT, HIDDEN));
    SDVariable w2 = sd.var("w2", Nd4j.randn(seed + 1, new long[] {HIDDEN, EMBED}).castTo(DataType.FLOAT).muli(Math.sqrt(2.0 / HIDDEN)));
    SDVariable b2 = sd.var("b2", Nd4j.zeros(DataType.FLOAT, EMBED));
    SDVariable h = sd.nn.relu(x.mmul(w1).add(b1), 0);
    SDVariable z = h.mmul(w2).add(b2).rename("embedding");
    loss.define(sd, "loss", z, ids);
    sd.setLossVariables("loss");
    return sd;
  }

  /** A batch of {@code batchImages / m} random captions with {@code m} random images each. */
  static DataSet batch(Images train, int perCaption, int m, int batchImages, Random rnd) {
    int captions = (int) (train.caption[train.caption.length - 1] + 1);
    int nCaptions = batchImages / m;
    List<Integer> order = new ArrayList<>();
    for (int c = 0; c < captions; c++) {
      order.add(c);
    }
    java.util.Collections.shuffle(order, rnd);
    int[] rows = new int[nCaptions * m];
    long[] ids = new long[nCaptions * m];
    for (int v = 0; v < m; v++) {
      for (int c = 0; c < nCaptions; c++) {
        // view-major like the reference: ids are [0..n-1] repeated m times
        int image = pickDistinct(rnd, perCaption, m, v, c);
        rows[v * nCaptions + c] = order.get(c) * perCaption + image;
        ids[v * nCaptions + c] = c;
      }
    }
    return new DataSet(train.x.getRows(rows), Nd4j.createFromArray(ids));
  }

  private static int[][] choice;

  /** Distinct images per caption within one batch: a fresh permutation per (batch, caption). */
  private static int pickDistinct(Random rnd, int perCaption, int m, int view, int captionSlot) {
    if (view == 0) {
      if (choice == null || choice.length <= captionSlot) {
        choice = new int[Math.max(captionSlot + 1, 256)][];
      }
      int[] p = new int[perCaption];
      for (int i = 0; i < perCaption; i++) {
        p[i] = i;
      }
      for (int i = perCaption - 1; i > 0; i--) {
        int j = rnd.nextInt(i + 1);
        int t = p[i];
        p[i] = p[j];
        p[j] = t;
      }
      choice[captionSlot] = p;
    }
    return choice[captionSlot][view];
  }

  /** Fraction of images whose nearest other image (cosine) shows the same caption. */
  static double nearestNeighbourAccuracy(INDArray features, long[] caption) {
    INDArray f = features.divColumnVector(features.norm2(1).reshape(features.rows(), 1).addi(1e-12));
    INDArray sim = io.github.stablerep.core.linalg.Matmul.mm(f, f, false, true);
    int n = (int) f.rows();
    int correct = 0;
    for (int i = 0; i < n; i++) {
      sim.putScalar(i, i, -2);
      int best = sim.getRow(i).argMax().getInt(0);
      if (caption[best] == caption[i]) {
        correct++;
      }
    }
    return correct / (double) n;
  }

  static INDArray embed(SameDiff sd, INDArray x) {
    return sd.output(Map.of("x", x), "embedding").get("embedding");
  }

  record Run(String name, double[] steps, double[] loss, SameDiff model) {}

  static Run train(String name, Options o, int m, Images train) {
    MultiPositiveContrastiveLoss loss = MultiPositiveContrastiveLoss.builder().temperature(o.temperature()).build();
    SameDiff sd = encoder(o.seed(), loss);
    // Adam at 2e-3 (torch's Adam: AdamW without weight decay, betas (0.9, 0.999))
    TrainStep trainStep = TrainStep.builder().graph(sd).parameters(List.of("w1", "b1", "w2", "b2"))
        .optimizer(AdamW.builder().learningRate(2e-3).betas(0.9, 0.999).weightDecay(0).build()).build();
    Random rnd = new Random(o.seed() * 31 + m);
    List<Double> xs = new ArrayList<>();
    List<Double> ys = new ArrayList<>();
    ConsoleProgress bar = new ConsoleProgress(name, o.steps());
    double smoothed = Double.NaN;
    for (int step = 1; step <= o.steps(); step++) {
      DataSet b = batch(train, o.imagesPerCaption(), m, o.batchImages(), rnd);
      double value = trainStep.run(Map.of("x", b.getFeatures(), "ids", b.getLabels())).loss();
      if (step % 10 == 0 || step == 1 || step == o.steps()) {
        smoothed = Double.isNaN(smoothed) ? value : 0.8 * smoothed + 0.2 * value;
        xs.add((double) step);
        ys.add(value);
        bar.update(step, String.format("loss %.4f", smoothed));
      }
    }
    return new Run(name, xs.stream().mapToDouble(Double::doubleValue).toArray(),
        ys.stream().mapToDouble(Double::doubleValue).toArray(), sd);
  }

  static void run(Options o) throws IOException {
    long start = System.nanoTime();
    System.out.println("stablerep4j loss demo: multi-positive contrastive loss on synthetic captions");
    System.out.println("Stand-in data: each caption is a random prototype; its \"images\" are the prototype plus noise,");
    System.out.println("next to caption-independent nuisance dimensions. No image generator or real images are used.");
    System.out.printf("seed %d, %d steps, %d images per batch, temperature %.3f%n%n",
        o.seed(), o.steps(), o.batchImages(), o.temperature());
    Images train = makeImages(o.trainCaptions(), o.imagesPerCaption(), o.seed());
    Images test = makeImages(o.testCaptions(), o.imagesPerCaption(), o.seed() + 1000);

    Run multi = train("m=4", o, 4, train);
    Run simclr = train("m=2", o, 2, train);

    SameDiff random = encoder(o.seed(), MultiPositiveContrastiveLoss.builder().build());
    double rawAcc = nearestNeighbourAccuracy(test.x, test.caption);
    double randomAcc = nearestNeighbourAccuracy(embed(random, test.x), test.caption);
    double simclrAcc = nearestNeighbourAccuracy(embed(simclr.model(), test.x), test.caption);
    double multiAcc = nearestNeighbourAccuracy(embed(multi.model(), test.x), test.caption);

    // the eager kernel and the graph agree on the trained encoder's held-out embeddings
    INDArray z = embed(multi.model(), test.x);
    INDArray ids = Nd4j.createFromArray(test.caption);
    MultiPositiveContrastiveLoss loss = MultiPositiveContrastiveLoss.builder().temperature(o.temperature()).build();
    LossResult eager = loss.compute(z, ids);
    double graph = multi.model().output(Map.of("x", test.x, "ids", ids), "loss").get("loss").getDouble(0);

    System.out.println();
    System.out.printf("Held-out captions: %d x %d images; nearest-neighbour caption retrieval (top-1)%n",
        o.testCaptions(), o.imagesPerCaption());
    System.out.println("| encoder                                  | top-1   |");
    System.out.println("|------------------------------------------|---------|");
    System.out.printf("| raw inputs (no encoder)                  | %6.2f%% |%n", 100 * rawAcc);
    System.out.printf("| random-init encoder                      | %6.2f%% |%n", 100 * randomAcc);
    System.out.printf("| SimCLR special case (m = 2 per caption)  | %6.2f%% |%n", 100 * simclrAcc);
    System.out.printf("| multi-positive StableRep loss (m = 4)    | %6.2f%% |%n", 100 * multiAcc);
    System.out.printf("%nHeld-out loss of the m=4 encoder: graph %.6f, eager %.6f (|diff| %.2e)%n",
        graph, eager.value(), Math.abs(graph - eager.value()));

    Path chart = o.out().resolve("loss-curves.png");
    new LineChart("Multi-positive contrastive loss during training", "step", "loss (batch)")
        .add("multi-positive, m = 4", multi.steps(), multi.loss())
        .add("SimCLR case, m = 2", simclr.steps(), simclr.loss())
        .writePng(chart);
    System.out.printf("Loss curves: %s%n", chart.toAbsolutePath());
    System.out.printf("Wall time: %.1f s%n", (System.nanoTime() - start) / 1e9);
  }

  private LossDemo() {}
}
