package io.github.stablerep.examples.demo;

import static com.google.common.base.Preconditions.checkArgument;

import io.github.stablerep.core.optim.AdamW;
import io.github.stablerep.core.optim.ParameterGroups;
import io.github.stablerep.core.optim.WarmupCosineSchedule;
import io.github.stablerep.core.train.TrainStep;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.function.LongConsumer;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.enums.WeightsFormat;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.impl.layers.convolution.config.Conv2DConfig;
import org.nd4j.linalg.api.ops.impl.layers.convolution.config.PaddingMode;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * A small image classifier trained on real Fashion-MNIST images, used as a judge of generated
 * ones: the fraction of images of a caption such as "a photo of a large dark coat" that it
 * classifies as the caption's class ({@link #agreement}) measures whether a generator makes what
 * it was asked for.
 *
 * <p><b>Architecture</b> (SameDiff, NCHW, about 0.21 M parameters): the grey image (channel
 * mean of the input) minus 0.5, then conv 4×4 stride 2 1→16 → ReLU (14×14), conv 4×4 stride 2
 * 16→32 → ReLU (7×7), flatten (32·7·7 = 1568), dense 1568→128 → ReLU, dense 128→10. Strided
 * convolutions instead of conv + max-pool: ND4J M2.1's per-op cost dominates at this size, and
 * this is the cheapest layout that still reaches about 87 % on real test images. Trained with
 * softmax cross-entropy (log-softmax composed explicitly), {@link AdamW} (lr 3e-3, warm-up then
 * cosine to 3e-5, weight decay 1e-4 on weights only) on mini-batches of {@value #DEFAULT_BATCH},
 * with {@link Gradients} computing the gradients.
 *
 * <p><b>Determinism</b>: weights are drawn (He initialisation) and batches are shuffled with
 * {@link Random} seeded by {@code seed}, so the same data and seed give the same judge (up to
 * the floating-point summation order of the CPU backend's threads).
 *
 * <p>Input images are {@code FLOAT [N, C, 28, 28]} in [0, 1] with C = 1 or 3 (the channel mean
 * is taken), as {@link DemoData#load} gives them at size 28. The tiny generator's 32×32 output
 * holds 28×28 content padded by two black pixels on each side: {@link #cropGenerated} removes
 * the padding.
 *
 * <p>Not thread-safe (the graph's arrays are shared); use one judge per thread.
 */
public final class FidelityJudge {

  /** The side of the images the judge classifies. */
  public static final int SIZE = 28;
  /** Fashion-MNIST's ten classes. */
  public static final int CLASSES = 10;
  /** The border the tiny generator's 32×32 images have around their 28×28 content. */
  public static final int GENERATED_PADDING = 2;
  /** Default mini-batch size. */
  public static final int DEFAULT_BATCH = 128;
  /** Images per inference batch. */
  static final int EVAL_BATCH = 500;

  static final String INPUT = "images";
  static final String TARGET = "targets";
  private static final double LEARNING_RATE = 3e-3;
  private static final double WEIGHT_DECAY = 1e-4;

  private final SameDiff sd;
  private final String logits;
  private final int epochs;
  private final long steps;
  private final double finalLoss;

  private FidelityJudge(SameDiff sd, String logits, int epochs, long steps, double finalLoss) {
    this.sd = sd;
    this.logits = logits;
    this.epochs = epochs;
    this.steps = steps;
    this.finalLoss = finalLoss;
  }

  /**
   * Epochs {@link #train(DemoData.Labelled, long, LongConsumer)} uses for {@code n} images: enough
   * for about 560 optimiser steps at batch {@value #DEFAULT_BATCH}, between 3 and 15 epochs (6
   * for the full 12 000-image embedded subset, 15 for 200 per class).
   */
  public static int defaultEpochs(int n) {
    checkArgument(n > 0, "n: expected at least one training image, found %s", n);
    long stepsPerEpoch = (n + DEFAULT_BATCH - 1) / DEFAULT_BATCH;
    return (int) Math.max(3, Math.min(15, (560 + stepsPerEpoch - 1) / stepsPerEpoch));
  }
  /** Optimiser steps of {@link #train(DemoData.Labelled, long, LongConsumer)} on {@code n} images. */
  public static long defaultSteps(int n) {
    return (long) defaultEpochs(n) * ((n + DEFAULT_BATCH - 1) / DEFAULT_BATCH);
  }


  /**
   * Trains a judge on {@code train} for {@link #defaultEpochs} epochs at batch {@value
   * #DEFAULT_BATCH}.
   *
   * @param train real images {@code FLOAT [N, C, 28, 28]} in [0, 1] (C = 1 or 3) and labels in
   *     0..9
   * @param progress called after each optimiser step with the number of steps done (may be null)
   * @throws IllegalArgumentException if the images or labels are not as described, naming the
   *     input, the expectation and the finding
   */
  public static FidelityJudge train(DemoData.Labelled train, long seed, LongConsumer progress) {
    checkArgument(train != null, "train: expected labelled images, found null");
    return train(train, seed, defaultEpochs(Math.max(1, train.size())), DEFAULT_BATCH, progress);
  }

  /**
   * As {@link #train(DemoData.Labelled, long, LongConsumer)} with the number of epochs and the
   * batch size given.
   */
  public static FidelityJudge train(DemoData.Labelled train, long seed, int epochs, int batchSize,
      LongConsumer progress) {
    checkArgument(train != null, "train: expected labelled images, found null");
    checkArgument(epochs >= 1, "epochs: expected at least 1, found %s", epochs);
    checkArgument(batchSize >= 1, "batchSize: expected at least 1, found %s", batchSize);
    int[] labels = train.labels();
    checkArgument(labels != null && labels.length > 0, "train.labels: expected at least one label, found %s",
        labels == null ? null : labels.length);
    INDArray grey = grey(train.images(), "train.images");
    checkArgument(grey.size(0) == labels.length,
        "train: expected as many labels as images, found %s labels for %s images", labels.length, grey.size(0));
    for (int i = 0; i < labels.length; i++) {
      checkArgument(labels[i] >= 0 && labels[i] < CLASSES,
          "train.labels[%s]: expected a class in 0..%s, found %s", i, CLASSES - 1, labels[i]);
    }
    LongConsumer report = progress == null ? s -> { } : progress;

    Random rnd = new Random(seed);
    SameDiff sd = SameDiff.create();
    SDVariable x = sd.placeHolder(INPUT, DataType.FLOAT, -1, 1, SIZE, SIZE);
    SDVariable y = sd.placeHolder(TARGET, DataType.FLOAT, -1, CLASSES);
    SDVariable w1 = sd.var("conv1_weight", he(rnd, 16, 4, 4, 1, 16));
    SDVariable b1 = sd.var("conv1_bias", Nd4j.zeros(DataType.FLOAT, 16));
    SDVariable w2 = sd.var("conv2_weight", he(rnd, 16 * 16, 4, 4, 16, 32));
    SDVariable b2 = sd.var("conv2_bias", Nd4j.zeros(DataType.FLOAT, 32));
    SDVariable w3 = sd.var("fc1_weight", he(rnd, 32 * 7 * 7, 32 * 7 * 7, 128));
    SDVariable b3 = sd.var("fc1_bias", Nd4j.zeros(DataType.FLOAT, 128));
    SDVariable w4 = sd.var("fc2_weight", he(rnd, 128, 128, CLASSES).muli(0.5));
    SDVariable b4 = sd.var("fc2_bias", Nd4j.zeros(DataType.FLOAT, CLASSES));

    SDVariable h = convRelu(sd, x.sub(0.5), w1, b1);
    h = convRelu(sd, h, w2, b2);
    h = sd.reshape(h, sd.constant(Nd4j.createFromArray(-1L, 32L * 7 * 7)));
    h = sd.nn.relu(h.mmul(w3).add(b3), 0.0);
    SDVariable out = sd.identity("logits", h.mmul(w4).add(b4));
    // cross-entropy from an explicit log-softmax: logits - logsumexp(logits)
    SDVariable shifted = out.sub(out.max(true, 1));
    SDVariable logProbs = shifted.sub(sd.math.log(sd.math.exp(shifted).sum(true, 1)));
    SDVariable loss = sd.math.neg(logProbs.mul(y).sum(1).mean()).rename("loss");
    sd.setLossVariables(loss);

    List<String> trainable = List.of("conv1_weight", "conv1_bias", "conv2_weight", "conv2_bias", "fc1_weight",
        "fc1_bias", "fc2_weight", "fc2_bias");
    int n = labels.length;
    long stepsPerEpoch = (n + batchSize - 1) / batchSize;
    long total = stepsPerEpoch * epochs;
    AdamW optimizer = AdamW.builder()
        .learningRate(WarmupCosineSchedule.builder().baseLr(LEARNING_RATE).minLr(LEARNING_RATE / 100)
            .warmupSteps(Math.max(1, total / 20)).totalSteps(total).build())
        .betas(0.9, 0.999)
        .weightDecay(WEIGHT_DECAY)
        .parameterGroups(ParameterGroups.defaults())
        .build();
    TrainStep trainStep = TrainStep.builder().graph(sd).parameters(trainable).optimizer(optimizer).build();

    INDArray eye = Nd4j.eye(CLASSES).castTo(DataType.FLOAT);
    int[] order = new int[n];
    Arrays.setAll(order, i -> i);
    long step = 0;
    double last = Double.NaN;
    for (int epoch = 0; epoch < epochs; epoch++) {
      shuffle(order, rnd);
      for (int start = 0; start < n; start += batchSize) {
        int end = Math.min(n, start + batchSize);
        long[] idx = new long[end - start];
        int[] rows = new int[end - start];
        for (int i = start; i < end; i++) {
          idx[i - start] = order[i];
          rows[i - start] = labels[order[i]];
        }
        Map<String, INDArray> feed = new HashMap<>();
        feed.put(INPUT, grey.get(NDArrayIndex.indices(idx)).reshape(idx.length, 1, SIZE, SIZE));
        feed.put(TARGET, eye.getRows(rows));
        last = trainStep.run(feed).loss();
        report.accept(++step);
      }
    }
    return new FidelityJudge(sd, out.name(), epochs, step, last);
  }

  /** The epochs this judge was trained for. */
  public int epochs() {
    return epochs;
  }

  /** The optimiser steps this judge was trained for. */
  public long steps() {
    return steps;
  }

  /** The training loss of the last mini-batch. */
  public double finalLoss() {
    return finalLoss;
  }

  /**
   * The predicted class (0..9, Fashion-MNIST's label order) of each image.
   *
   * @param images {@code FLOAT [N, C, 28, 28]} in [0, 1], C = 1 or 3 (the channel mean is used)
   * @throws IllegalArgumentException if {@code images} is not of that shape
   */
  public int[] predict(INDArray images) {
    INDArray grey = grey(images, "images");
    int n = (int) grey.size(0);
    int[] predicted = new int[n];
    for (int start = 0; start < n; start += EVAL_BATCH) {
      int end = Math.min(n, start + EVAL_BATCH);
      INDArray batch = grey.get(NDArrayIndex.interval(start, end)).dup().reshape(end - start, 1, SIZE, SIZE);
      INDArray scores = sd.output(Map.of(INPUT, batch), logits).get(logits);
      INDArray arg = scores.argMax(1);
      for (int i = start; i < end; i++) {
        predicted[i] = arg.getInt(i - start);
      }
    }
    return predicted;
  }

  /**
   * The fraction of images predicted as their expected class.
   *
   * @param images as for {@link #predict}
   * @param expectedClasses one class (0..9) per image
   * @throws IllegalArgumentException if the counts differ or the images are not as {@link
   *     #predict} needs
   */
  public double agreement(INDArray images, int[] expectedClasses) {
    checkArgument(images != null, "images: expected FLOAT [N, C, 28, 28], found null");
    checkArgument(expectedClasses != null, "expectedClasses: expected one class per image, found null");
    checkArgument(images.rank() >= 1 && images.size(0) == expectedClasses.length,
        "expectedClasses: expected one class per image (%s), found %s", images.rank() >= 1 ? images.size(0) : 0,
        expectedClasses.length);
    checkArgument(expectedClasses.length > 0, "images: expected at least one image, found none");
    int[] predicted = predict(images);
    int agree = 0;
    for (int i = 0; i < predicted.length; i++) {
      agree += predicted[i] == expectedClasses[i] ? 1 : 0;
    }
    return agree / (double) predicted.length;
  }

  /** The accuracy on real labelled images, e.g. {@link DemoData#test()}: {@link #agreement} with their labels. */
  public double testAccuracy(DemoData.Labelled test) {
    checkArgument(test != null, "test: expected labelled images, found null");
    return agreement(test.images(), test.labels());
  }

  /**
   * The 28×28 content of the tiny generator's 32×32 images: a centre crop removing the {@value
   * #GENERATED_PADDING}-pixel border.
   *
   * @param images32 {@code [N, C, 32, 32]}, or a single image {@code [C, 32, 32]}
   * @return {@code [N, C, 28, 28]} (a copy), N = 1 for a single image
   * @throws IllegalArgumentException if {@code images32} is not 32×32
   */
  public static INDArray cropGenerated(INDArray images32) {
    checkArgument(images32 != null, "images32: expected [N, C, 32, 32], found null");
    INDArray x = images32.rank() == 3 ? images32.reshape(1, images32.size(0), images32.size(1), images32.size(2))
        : images32;
    int side = SIZE + 2 * GENERATED_PADDING;
    checkArgument(x.rank() == 4 && x.size(2) == side && x.size(3) == side,
        "images32: expected [N, C, %s, %s] or [C, %s, %s], found %s", side, side, side, side,
        Arrays.toString(images32.shape()));
    return x.get(NDArrayIndex.all(), NDArrayIndex.all(), NDArrayIndex.interval(GENERATED_PADDING, side - GENERATED_PADDING),
        NDArrayIndex.interval(GENERATED_PADDING, side - GENERATED_PADDING)).dup();
  }

  /** {@link #cropGenerated} of each image of a list, stacked into {@code [N, C, 28, 28]}. */
  public static INDArray cropGenerated(List<INDArray> images32) {
    checkArgument(images32 != null && !images32.isEmpty(), "images32: expected at least one image, found %s",
        images32 == null ? null : "none");
    INDArray[] crops = new INDArray[images32.size()];
    for (int i = 0; i < crops.length; i++) {
      crops[i] = cropGenerated(images32.get(i));
    }
    return Nd4j.concat(0, crops);
  }

  /** [N, C, 28, 28] with C = 1 or 3 -> the channel mean [N, 28, 28] as FLOAT. */
  private static INDArray grey(INDArray images, String name) {
    checkArgument(images != null, "%s: expected FLOAT [N, C, %s, %s] with C = 1 or 3, found null", name, SIZE, SIZE);
    checkArgument(images.rank() == 4 && (images.size(1) == 1 || images.size(1) == 3) && images.size(2) == SIZE
            && images.size(3) == SIZE && images.size(0) > 0,
        "%s: expected [N, C, %s, %s] with N >= 1 and C = 1 or 3, found %s", name, SIZE, SIZE,
        Arrays.toString(images.shape()));
    checkArgument(images.dataType().isFPType(), "%s: expected floating-point values in [0, 1], found %s", name,
        images.dataType());
    return images.castTo(DataType.FLOAT).mean(1);
  }

  /** Conv 4×4, stride 2, padding 1 (halves the side), then ReLU. */
  private static SDVariable convRelu(SameDiff sd, SDVariable x, SDVariable w, SDVariable b) {
    Conv2DConfig conv = Conv2DConfig.builder().kH(4).kW(4).sH(2).sW(2).pH(1).pW(1).dH(1).dW(1)
        .paddingMode(PaddingMode.VALID).dataFormat(Conv2DConfig.NCHW).weightsFormat(WeightsFormat.YXIO).build();
    return sd.nn.relu(sd.cnn.conv2d(x, w, b, conv), 0.0);
  }

  /** Gaussian He initialisation, std sqrt(2 / fanIn), from {@code rnd}. */
  private static INDArray he(Random rnd, int fanIn, long... shape) {
    long count = 1;
    for (long s : shape) {
      count *= s;
    }
    float[] v = new float[(int) count];
    double std = Math.sqrt(2.0 / fanIn);
    for (int i = 0; i < v.length; i++) {
      v[i] = (float) (rnd.nextGaussian() * std);
    }
    return Nd4j.createFromArray(v).reshape(shape);
  }

  private static void shuffle(int[] a, Random rnd) {
    for (int i = a.length - 1; i > 0; i--) {
      int j = rnd.nextInt(i + 1);
      int t = a[i];
      a[i] = a[j];
      a[j] = t;
    }
  }

  @Override
  public String toString() {
    return "FidelityJudge{cnn conv4x4s2(16)-conv4x4s2(32)-fc128-fc10, epochs=" + epochs + ", steps=" + steps
        + String.format(", finalLoss=%.4f}", finalLoss);
  }
}
