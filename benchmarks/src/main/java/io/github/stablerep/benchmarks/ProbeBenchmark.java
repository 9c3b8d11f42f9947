package io.github.stablerep.benchmarks;

import io.github.stablerep.eval.LinearProbe;
import io.github.stablerep.eval.LinearProbeModel;
import io.github.stablerep.eval.data.Batch;
import io.github.stablerep.eval.data.IdxDataset;
import io.github.stablerep.eval.data.ImageDataset;
import java.io.IOException;
import java.nio.file.Path;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * The L-BFGS linear probe on Fashion-MNIST pixels (60 000 x 784, 10 classes, one fixed λ),
 * timed as one scripted run; {@code benchmarks/compare/probe_fmnist.py} is the scikit-learn side.
 * Timed: {@code LinearProbe.fit} (z-scoring included, as StandardScaler + fit on the Python
 * side). Reported: seconds, L-BFGS iterations, the objective at the solution re-evaluated in
 * float64 from the weights, train and test accuracy.
 *
 * <pre>
 * OMP_NUM_THREADS=2 java -Xmx8g -Dorg.bytedeco.javacpp.maxbytes=12G \
 *     -cp benchmarks/target/benchmarks.jar io.github.stablerep.benchmarks.ProbeBenchmark \
 *     [dataDir] [lambda] [FLOAT|DOUBLE] [reps]
 * </pre>
 */
public final class ProbeBenchmark {

    private ProbeBenchmark() {}

    public static void main(String[] args) throws IOException {
        Path dir = Path.of(args.length > 0 ? args[0] : "/usr/share/datasets/fashion-mnist");
        double lambda = args.length > 1 ? Double.parseDouble(args[1]) : 1e-4;
        DataType type = args.length > 2 ? DataType.valueOf(args[2]) : DataType.FLOAT;
        int reps = args.length > 3 ? Integer.parseInt(args[3]) : 1;
        IdxDataset train = IdxDataset.open(dir.resolve("train-images-idx3-ubyte.gz"),
                dir.resolve("train-labels-idx1-ubyte.gz"));
        IdxDataset test = IdxDataset.open(dir.resolve("t10k-images-idx3-ubyte.gz"),
                dir.resolve("t10k-labels-idx1-ubyte.gz"));
        INDArray trainX = pixels(train);
        INDArray testX = pixels(test);
        System.out.println("loaded: " + NativeBackend.loadedLibrary().orElse("none"));
        System.out.printf("train %s, test %s, lambda %g, GEMM type %s%n",
                java.util.Arrays.toString(trainX.shape()), java.util.Arrays.toString(testX.shape()),
                lambda, type);
        LinearProbe probe = LinearProbe.builder().regularizationSweep(lambda, lambda, 1)
                .maxIterations(20000).dataType(type).build();
        for (int r = 0; r < reps; r++) {
            long t0 = System.nanoTime();
            LinearProbeModel model = probe.fit(trainX, train.labels());
            double seconds = (System.nanoTime() - t0) / 1e9;
            double objective = objective64(model, trainX, train.labels(), lambda);
            double trainAcc = model.evaluate(trainX, train.labels()).top1();
            double testAcc = model.evaluate(testX, test.labels()).top1();
            System.out.printf("{\"impl\": \"stablerep4j\", \"type\": \"%s\", \"lambda\": %g,"
                    + " \"seconds\": %.3f, \"iterations\": %d, \"converged\": %s,"
                    + " \"objective\": %.12g, \"train_accuracy\": %.4f, \"test_accuracy\": %.4f}%n",
                    type, lambda, seconds, model.iterations(), model.converged(), objective, trainAcc,
                    testAcc);
        }
    }

    private static INDArray pixels(IdxDataset d) throws IOException {
        try (ImageDataset.Reader r = d.reader()) {
            Batch b = r.next(d.size());
            return b.stack().reshape(d.size(), (long) d.rows() * d.cols()).castTo(DataType.FLOAT);
        }
    }

    /**
     * (1/n) Σ CE + (λ/2)‖W‖² from the fitted weights, in float64 and plain Java, on the features
     * z-scored with the model's own statistics: a check on the solver's bookkeeping.
     */
    private static double objective64(LinearProbeModel model, INDArray x, int[] y, double lambda) {
        double[][] w = model.weights().toDoubleMatrix();
        double[] b = model.bias().toDoubleVector();
        double[] mean = model.featureMean();
        double[] scale = model.featureScale();
        int n = (int) x.rows();
        int d = (int) x.columns();
        float[] xs = x.dup('c').data().asFloat();
        double[] row = new double[d];
        double[] z = new double[b.length];
        double loss = 0;
        for (int i = 0; i < n; i++) {
            for (int j = 0; j < d; j++) {
                row[j] = (xs[i * d + j] - mean[j]) / scale[j];
            }
            double max = Double.NEGATIVE_INFINITY;
            for (int k = 0; k < b.length; k++) {
                double s = b[k];
                for (int j = 0; j < d; j++) {
                    s += w[k][j] * row[j];
                }
                z[k] = s;
                max = Math.max(max, s);
            }
            double sum = 0;
            for (double v : z) {
                sum += Math.exp(v - max);
            }
            loss += max + Math.log(sum) - z[y[i]];
        }
        double penalty = 0;
        for (double[] wk : w) {
            for (double v : wk) {
                penalty += v * v;
            }
        }
        return loss / n + 0.5 * lambda * penalty;
    }
}
