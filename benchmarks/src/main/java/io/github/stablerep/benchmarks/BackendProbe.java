package io.github.stablerep.benchmarks;

import org.nd4j.linalg.api.blas.params.MMulTranspose;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.impl.reduce.Mmul;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.ops.transforms.Transforms;
import org.nd4j.nativeblas.NativeOpsHolder;

/**
 * Prints which ND4J native build this JVM loaded and a quick 2048 matmul timing, without JMH.
 *
 * <pre>
 * OMP_NUM_THREADS=2 java -Dorg.bytedeco.javacpp.platform.extension=-onednn \
 *     -cp benchmarks/target/benchmarks.jar io.github.stablerep.benchmarks.BackendProbe
 * </pre>
 * Without the {@code -D}, the plain build is expected.
 */
public final class BackendProbe {

    private BackendProbe() {}

    public static void main(String[] args) {
        int n = args.length > 0 ? Integer.parseInt(args[0]) : 2048;
        int reps = args.length > 1 ? Integer.parseInt(args[1]) : 5;
        System.out.println(NativeBackend.EXTENSION_PROPERTY + "="
                + System.getProperty(NativeBackend.EXTENSION_PROPERTY));
        INDArray a = Nd4j.rand(DataType.FLOAT, n, n);
        INDArray b = Nd4j.rand(DataType.FLOAT, n, n);
        INDArray c = Nd4j.create(DataType.FLOAT, n, n);
        System.out.println("loaded: " + NativeBackend.loadedLibrary().orElse("none"));
        String info = NativeOpsHolder.getInstance().getDeviceNativeOps().buildInfo();
        System.out.println("buildInfo: " + info.replace('\n', ' '));
        // The two paths must agree before their speeds mean anything.
        INDArray viaOp = Nd4j.create(DataType.FLOAT, n, n);
        Nd4j.exec(new Mmul(a, b, viaOp, MMulTranspose.allFalse()));
        INDArray viaGemm = a.mmul(b);
        double maxAbs = Transforms.abs(viaOp.sub(viaGemm)).maxNumber().doubleValue();
        double scale = Transforms.abs(viaGemm).maxNumber().doubleValue();
        System.out.printf("Mmul op vs INDArray.mmul: max |diff| %.3g (max |value| %.3g)%n", maxAbs, scale);
        if (!(maxAbs <= 1e-4 * scale)) {
            throw new IllegalStateException("Mmul op and INDArray.mmul disagree");
        }
        double gflop = 2.0 * n * n * (double) n / 1e9;
        for (String path : new String[] {"Mmul op", "INDArray.mmul"}) {
            double best = Double.MAX_VALUE;
            for (int r = 0; r < reps + 1; r++) {
                long t0 = System.nanoTime();
                if (path.equals("Mmul op")) {
                    Nd4j.exec(new Mmul(a, b, c, MMulTranspose.allFalse()));
                } else {
                    a.mmul(b, c);
                }
                double s = (System.nanoTime() - t0) / 1e9;
                if (r > 0) {
                    best = Math.min(best, s);
                }
            }
            System.out.printf("%-14s n=%d best of %d: %.1f ms = %.1f GFLOP/s%n",
                    path, n, reps, best * 1e3, gflop / best);
        }
    }
}
