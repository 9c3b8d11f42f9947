package io.github.stablerep.examples.cli;

import io.github.stablerep.core.io.Npy;
import io.github.stablerep.core.io.StrictJson;
import io.github.stablerep.eval.KnnClassifier;
import io.github.stablerep.eval.LinearProbe;
import io.github.stablerep.eval.LinearProbeModel;
import io.github.stablerep.eval.ProbeResult;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/** Features or images plus labels to a linear-probe (and optionally kNN) result. */
@Command(
    name = "probe",
    description = {
      "Fit a linear probe on frozen features and evaluate it: multinomial logistic regression by"
          + " L-BFGS on z-scored features, lambda swept on a stratified validation split of the"
          + " training set, then refit on all of it (the CLIP/SynCLR protocol). Optionally kNN too.",
      "Inputs: features (.npy [N, D], e.g. from 'embed') with labels (.npy [N] integers), or images"
          + " (ImageFolder or .csv/.tsv manifest, labels included) with an encoder (--checkpoint or"
          + " --weights).",
      "Writes the result as JSON and prints a table."
    })
final class ProbeCommand extends CliCommand {

  @Option(names = "--train", required = true, paramLabel = "PATH",
      description = "Training features (.npy) or images (ImageFolder or manifest).")
  Path train;

  @Option(names = "--test", required = true, paramLabel = "PATH",
      description = "Test features (.npy) or images (ImageFolder or manifest).")
  Path test;

  @Option(names = "--train-labels", paramLabel = "FILE", description = "Labels of --train features (.npy [N]).")
  Path trainLabels;

  @Option(names = "--test-labels", paramLabel = "FILE", description = "Labels of --test features (.npy [N]).")
  Path testLabels;

  @Option(names = "--out", defaultValue = "probe.json", paramLabel = "FILE", description = "The JSON result.")
  Path outFile;

  @Option(names = "--lambda-min", defaultValue = "1e-6", paramLabel = "L", description = "Smallest L2 strength.")
  double lambdaMin;

  @Option(names = "--lambda-max", defaultValue = "1e5", paramLabel = "L", description = "Largest L2 strength.")
  double lambdaMax;

  @Option(names = "--lambdas", defaultValue = "45", paramLabel = "N",
      description = "Log-spaced strengths swept (1: use --lambda-min alone, set --lambda-max to the same).")
  int lambdas;

  @Option(names = "--validation-fraction", defaultValue = "0.2", paramLabel = "F",
      description = "Share of the training set held out to choose lambda.")
  double validationFraction;

  @Option(names = "--max-iterations", defaultValue = "1000", paramLabel = "N", description = "L-BFGS iterations.")
  int maxIterations;

  @Option(names = "--precision", defaultValue = "DOUBLE", paramLabel = "TYPE",
      description = "GEMM precision: DOUBLE or FLOAT (faster on large sets).")
  String precision;

  @Option(names = "--seed", defaultValue = "0", paramLabel = "S", description = "Seed of the validation split.")
  long seed;

  @Option(names = "--knn", defaultValue = "false", description = "Also evaluate a weighted kNN classifier.")
  boolean knn;

  @Option(names = "--k", defaultValue = "20", paramLabel = "K", description = "kNN neighbours.")
  int k;

  @Option(names = "--knn-temperature", defaultValue = "0.07", paramLabel = "T", description = "kNN vote temperature.")
  double knnTemperature;

  @Mixin EncoderOptions encoder;

  @Mixin PathOptions paths;

  @Override
  Map<String, String> builderFields() {
    return Map.of("lambdaCount", "--lambdas", "temperature", "--knn-temperature");
  }

  @Override
  public Integer call() throws Exception {
    DataType type = switch (precision.toUpperCase(Locale.ROOT)) {
      case "DOUBLE" -> DataType.DOUBLE;
      case "FLOAT" -> DataType.FLOAT;
      default -> throw usage("--precision: expected DOUBLE or FLOAT, found '%s'", precision);
    };
    LinearProbe probe = LinearProbe.builder().regularizationSweep(lambdaMin, lambdaMax, lambdas)
        .validationFraction(validationFraction).maxIterations(maxIterations).seed(seed).dataType(type).build();
    // built (validated) even without --knn: a bad --k or --knn-temperature is a mistake either way
    KnnClassifier knnBuilt = KnnClassifier.builder().k(k).temperature(knnTemperature).build();
    KnnClassifier knnClassifier = knn ? knnBuilt : null;

    Labelled tr;
    Labelled te;
    boolean features = isNpy(train);
    if (features != isNpy(test)) {
      throw usage("--train, --test: expected both features (.npy) or both images, found %s and %s", train, test);
    }
    if (features) {
      if (encoder.given()) {
        throw usage("--checkpoint/--weights: expected no encoder with .npy features, found one");
      }
      tr = features("--train", train, "--train-labels", trainLabels);
      te = features("--test", test, "--test-labels", testLabels);
      if (tr.x().columns() != te.x().columns()) {
        throw usage("--test: expected %d feature columns as --train, found %d", tr.x().columns(), te.x().columns());
      }
    } else {
      if (trainLabels != null || testLabels != null) {
        throw usage("--train-labels/--test-labels: expected none with images (their labels are in the dataset)");
      }
      Encoders.Encoder enc = encoder.load();
      tr = images("--train", train, enc);
      te = images("--test", test, enc);
    }

    long t0 = System.nanoTime();
    err.printf("probe: fitting on %d x %d, %d lambda(s)%n", tr.x().rows(), tr.x().columns(), lambdas);
    LinearProbeModel model = probe.fit(tr.x(), tr.y());
    ProbeResult linear = model.evaluate(te.x(), te.y());
    double linearSeconds = (System.nanoTime() - t0) / 1e9;
    ProbeResult knnResult = null;
    if (knnClassifier != null) {
      knnResult = knnClassifier.fit(tr.x(), tr.y()).evaluate(te.x(), te.y());
    }

    Map<String, Object> json = new LinkedHashMap<>();
    json.put("train", input(train, tr.x().rows()));
    json.put("test", input(test, te.x().rows()));
    json.put("features", tr.x().columns());
    Map<String, Object> lin = result(linear);
    lin.put("iterations", model.iterations());
    lin.put("converged", model.converged());
    lin.put("seconds", linearSeconds);
    json.put("linear", lin);
    if (knnResult != null) {
      Map<String, Object> kn = result(knnResult);
      kn.remove("lambda");
      kn.remove("validation_curve");
      kn.put("k", k);
      kn.put("temperature", knnTemperature);
      json.put("knn", kn);
    }
    writeAtomically(outputFile("--out", outFile), StrictJson.writePretty(json));

    out.println(table(linear, knnResult));
    out.printf("probe: result -> %s%n", outFile);
    return 0;
  }

  private static Map<String, Object> input(Path path, long samples) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("path", path.toString());
    m.put("samples", samples);
    return m;
  }

  static Map<String, Object> result(ProbeResult r) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("top1", finiteOrNull(r.top1()));
    m.put("mean_per_class_accuracy", finiteOrNull(r.meanPerClassAccuracy()));
    m.put("map11", finiteOrNull(r.meanAveragePrecision()));
    m.put("lambda", finiteOrNull(r.lambda()));
    m.put("classes", r.numClasses());
    List<Object> curve = new ArrayList<>();
    r.validationCurve().forEach((l, acc) -> curve.add(Arrays.asList(finiteOrNull(l), finiteOrNull(acc))));
    m.put("validation_curve", curve);
    m.put("confusion", r.confusionMatrix());
    return m;
  }

  /** JSON has no NaN (e.g. mAP of a class without positives): such a value is written as null. */
  private static Double finiteOrNull(double v) {
    return Double.isFinite(v) ? v : null;
  }

  static String table(ProbeResult linear, ProbeResult knn) {
    StringBuilder sb = new StringBuilder();
    sb.append(String.format(Locale.ROOT, "%-8s %8s %16s %10s%n", "method", "top-1", "mean per class", "lambda"));
    sb.append(String.format(Locale.ROOT, "%-8s %7.2f%% %15.2f%% %10.3g", "linear", 100 * linear.top1(),
        100 * linear.meanPerClassAccuracy(), linear.lambda()));
    if (knn != null) {
      sb.append(String.format(Locale.ROOT, "%n%-8s %7.2f%% %15.2f%% %10s", "knn", 100 * knn.top1(),
          100 * knn.meanPerClassAccuracy(), "-"));
    }
    return sb.toString();
  }

  private record Labelled(INDArray x, int[] y) {}

  private static boolean isNpy(Path p) {
    return p.getFileName() != null && p.getFileName().toString().toLowerCase(Locale.ROOT).endsWith(".npy");
  }

  private Labelled features(String option, Path file, String labelOption, Path labels) throws IOException {
    existingFile(option, file);
    if (labels == null) {
      throw usage("%s: expected the labels of %s (.npy [N] integers), found none", labelOption, file);
    }
    existingFile(labelOption, labels);
    INDArray x = Npy.read(file);
    if (x.rank() != 2 || x.rows() == 0) {
      throw usage("%s: expected a feature matrix [N, D], found shape %s in %s", option, Arrays.toString(x.shape()),
          file);
    }
    int[] y = labels(labelOption, labels, x.rows());
    return new Labelled(x.dataType() == DataType.FLOAT || x.dataType() == DataType.DOUBLE ? x
        : x.castTo(DataType.FLOAT), y);
  }

  private int[] labels(String option, Path file, int rows) throws IOException {
    INDArray a = Npy.read(file);
    if (a.rank() != 1 || a.length() != rows) {
      throw usage("%s: expected labels [%d], found shape %s in %s", option, rows, Arrays.toString(a.shape()), file);
    }
    double[] v = a.castTo(DataType.DOUBLE).toDoubleVector();
    int[] y = new int[v.length];
    for (int i = 0; i < v.length; i++) {
      if (v[i] < 0 || v[i] != Math.rint(v[i]) || v[i] > Integer.MAX_VALUE) {
        throw usage("%s: expected non-negative integer labels, found %s at index %d of %s", option, v[i], i, file);
      }
      y[i] = (int) v[i];
    }
    return y;
  }

  private Labelled images(String option, Path path, Encoders.Encoder enc) throws IOException {
    Datasets.Opened data = Datasets.open(option, path, paths.policy());
    if (!data.labelled()) {
      throw usage("%s: expected labelled images (an ImageFolder or a .csv/.tsv manifest), found a plain folder %s",
          option, path);
    }
    return new Labelled(EmbedCommand.extract(data, enc, encoder, this), data.dataset().labels());
  }
}
