package io.github.stablerep.benchmarks;

import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.enums.WeightsFormat;
import org.nd4j.linalg.api.blas.params.MMulTranspose;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.impl.layers.convolution.Conv2D;
import org.nd4j.linalg.api.ops.impl.layers.convolution.config.Conv2DConfig;
import org.nd4j.linalg.api.ops.impl.layers.convolution.config.PaddingMode;
import org.nd4j.linalg.api.ops.impl.reduce.Mmul;
import org.nd4j.linalg.factory.Nd4j;
import org.openjdk.jmh.annotations.AuxCounters;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;

/**
 * ND4J CPU backend throughput: the plain {@code linux-x86_64} build of nd4j-native against the
 * {@code linux-x86_64-onednn} build, on the kernels that dominate training.
 *
 * <h2>What is measured</h2>
 * <ul>
 *   <li>{@link #mmulOp}: {@code Nd4j.exec(new Mmul(a, b, c, MMulTranspose.allFalse()))}, the
 *       libnd4j {@code matmul} custom op, into a preallocated output.</li>
 *   <li>{@link #mmulOpAlloc}: the same op with a fresh output array per call (what SameDiff
 *       and most eager code do), to separate allocation cost from graph overhead.</li>
 *   <li>{@link #sameDiffMatmul}: the same op through a SameDiff graph ({@code sd.mmul} on two
 *       placeholders, {@code sd.output}); it allocates its output every call.</li>
 *   <li>{@link #indArrayMmul}: {@code a.mmul(b, c)}, the BLAS gemm path of {@code INDArray}.</li>
 *   <li>{@link #conv2dExec} / {@link #sameDiffConv2d}: conv2d 3x3, stride 1, padding 1, NCHW,
 *       weights YXIO {@code [kH,kW,inC,outC]}, with bias, batch 1, 320 -> 320 channels, 64x64
 *       (the Stable Diffusion UNet's first-level shape).</li>
 * </ul>
 * All arrays are fp32, filled from a fixed seed.
 *
 * <h2>FLOP counts and GFLOP/s</h2>
 * A multiply-add counts as 2 FLOP:
 * <ul>
 *   <li>matmul {@code [n,n] x [n,n]}: {@code 2 n^3} (n=1024: 2.147 GFLOP; n=2048: 17.18 GFLOP);</li>
 *   <li>conv2d: {@code 2 * N * Cout * Hout * Wout * Cin * kH * kW}
 *       (N=1, C=320, 64x64, 3x3: 7.550 GFLOP); the bias add is not counted (0.02 %).</li>
 * </ul>
 * The mode is throughput, so JMH's primary score is operations per second and
 * {@code GFLOP/s = score * FLOP / 1e9}. The benchmarks also report this directly: the secondary
 * metric {@code gflop} (a JMH {@link AuxCounters} counter of type OPERATIONS, normalised to
 * time) is GFLOP/s.
 *
 * <h2>Selecting the native build</h2>
 * The {@code backend} parameter is {@code onednn} or {@code plain}; it sets
 * {@code org.bytedeco.javacpp.platform.extension} to {@code -onednn} or to the empty string (see
 * {@link NativeBackend}) before ND4J loads in each forked JVM, so by default one JMH run measures
 * both builds, one fork per parameter combination. Note that with the property unset
 * ({@code -p backend=unset}) JavaCPP already prefers the oneDNN build. {@code -p backend=inherit}
 * leaves the property to the command line, e.g.
 * {@code -jvmArgsAppend -Dorg.bytedeco.javacpp.platform.extension=}. Each trial reads
 * {@code /proc/self/maps} and fails if the wrong {@code libnd4jcpu.so} was loaded.
 *
 * <p>Threads: run with {@code OMP_NUM_THREADS=2} (and {@code OPENBLAS_NUM_THREADS=2}) in the
 * environment; forked JVMs inherit it.
 */
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Threads(1)
@Fork(value = 1, jvmArgsAppend = {
        "-Xmx2g", "-Xss4m", "-XX:+UseParallelGC",
        "-Dorg.bytedeco.javacpp.maxbytes=6G", "-Dorg.bytedeco.javacpp.maxphysicalbytes=10G",
        "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn"})
public class BackendBenchmark {

    /** Values of the {@code backend} parameter shared by all states. */
    @State(Scope.Benchmark)
    public abstract static class BackendState {
        /** {@code onednn}, {@code plain}, {@code unset} or {@code inherit}; see {@link NativeBackend#select}. */
        @Param({"onednn", "plain"})
        public String backend;

        /** Selects the build, touches ND4J, and checks which library got loaded. */
        protected void initBackend() {
            NativeBackend.select(backend);
            Nd4j.getRandom().setSeed(42);
            NativeBackend.verify(backend);
            String threads = System.getenv("OMP_NUM_THREADS");
            if (threads == null) {
                System.err.println("warning: OMP_NUM_THREADS is not set; ND4J picks its own thread count");
            }
            System.err.println("backend=" + backend + " loaded=" + NativeBackend.loadedBackend()
                    + " (" + NativeBackend.loadedLibrary().orElse("?") + ")"
                    + " OMP_NUM_THREADS=" + threads);
        }
    }

    /** Square fp32 matrices {@code a, b} and an output {@code c}, plus a SameDiff matmul graph. */
    public static class MatmulState extends BackendState {
        @Param({"1024", "2048"})
        public int size;

        INDArray a;
        INDArray b;
        INDArray c;
        SameDiff sd;
        Map<String, INDArray> feed;
        double gflop;

        @Setup(Level.Trial)
        public void setUp() {
            initBackend();
            a = Nd4j.rand(DataType.FLOAT, size, size).subi(0.5);
            b = Nd4j.rand(DataType.FLOAT, size, size).subi(0.5);
            c = Nd4j.create(DataType.FLOAT, size, size);
            sd = SameDiff.create();
            SDVariable pa = sd.placeHolder("a", DataType.FLOAT, size, size);
            SDVariable pb = sd.placeHolder("b", DataType.FLOAT, size, size);
            sd.mmul("out", pa, pb);
            feed = Map.of("a", a, "b", b);
            gflop = 2.0 * size * size * (double) size / 1e9;
        }
    }

    /** Conv2d 3x3 input, YXIO weights and bias, plus a SameDiff conv2d graph. */
    public static class ConvState extends BackendState {
        static final int BATCH = 1;
        static final int CHANNELS = 320;
        static final int HW = 64;
        static final int K = 3;

        INDArray input;
        INDArray weights;
        INDArray bias;
        INDArray output;
        Conv2DConfig config;
        SameDiff sd;
        Map<String, INDArray> feed;
        double gflop;

        @Setup(Level.Trial)
        public void setUp() {
            initBackend();
            input = Nd4j.rand(DataType.FLOAT, BATCH, CHANNELS, HW, HW).subi(0.5);
            weights = Nd4j.rand(DataType.FLOAT, K, K, CHANNELS, CHANNELS).subi(0.5).muli(0.05);
            bias = Nd4j.rand(DataType.FLOAT, CHANNELS);
            output = Nd4j.create(DataType.FLOAT, BATCH, CHANNELS, HW, HW);
            config = Conv2DConfig.builder()
                    .kH(K).kW(K).sH(1).sW(1).pH(1).pW(1).dH(1).dW(1)
                    .paddingMode(PaddingMode.VALID)
                    .dataFormat("NCHW")
                    .weightsFormat(WeightsFormat.YXIO)
                    .build();
            sd = SameDiff.create();
            SDVariable x = sd.placeHolder("x", DataType.FLOAT, BATCH, CHANNELS, HW, HW);
            SDVariable w = sd.constant("w", weights);
            SDVariable bb = sd.constant("b", bias);
            sd.cnn.conv2d("out", x, w, bb, config);
            feed = Map.of("x", input);
            // 2 * N * Cout * Hout * Wout * Cin * kH * kW (stride 1, same padding: Hout = H)
            gflop = 2.0 * BATCH * CHANNELS * HW * HW * CHANNELS * K * K / 1e9;
        }
    }

    /** GFLOP done, normalised by JMH to GFLOP/s (secondary metric {@code gflop}). */
    @State(Scope.Thread)
    @AuxCounters(AuxCounters.Type.OPERATIONS)
    public static class Flops {
        public double gflop;

        @Setup(Level.Iteration)
        public void reset() {
            gflop = 0;
        }
    }

    @Benchmark
    public INDArray mmulOp(MatmulState s, Flops f) {
        Nd4j.exec(new Mmul(s.a, s.b, s.c, MMulTranspose.allFalse()));
        f.gflop += s.gflop;
        return s.c;
    }

    /** The same op letting ND4J allocate the output each call, as SameDiff does. */
    @Benchmark
    public INDArray mmulOpAlloc(MatmulState s, Flops f) {
        INDArray out = Nd4j.exec(new Mmul(s.a, s.b, 1.0, 0.0))[0];
        f.gflop += s.gflop;
        return out;
    }

    @Benchmark
    public INDArray sameDiffMatmul(MatmulState s, Flops f) {
        INDArray out = s.sd.output(s.feed, "out").get("out");
        f.gflop += s.gflop;
        return out;
    }

    @Benchmark
    public INDArray indArrayMmul(MatmulState s, Flops f) {
        s.a.mmul(s.b, s.c);
        f.gflop += s.gflop;
        return s.c;
    }

    @Benchmark
    public INDArray conv2dExec(ConvState s, Flops f) {
        Nd4j.exec(new Conv2D(s.input, s.weights, s.bias, s.output, s.config));
        f.gflop += s.gflop;
        return s.output;
    }

    @Benchmark
    public INDArray sameDiffConv2d(ConvState s, Flops f) {
        INDArray out = s.sd.output(s.feed, "out").get("out");
        f.gflop += s.gflop;
        return out;
    }
}
