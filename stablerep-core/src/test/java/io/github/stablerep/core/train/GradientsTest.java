package io.github.stablerep.core.train;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.github.stablerep.core.loss.MultiPositiveContrastiveLoss;
import io.github.stablerep.core.optim.AdamW;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

class GradientsTest {

  /** The trainable variables of {@link #graph()}. */
  static final List<String> PARAMETERS = List.of("w1", "b1", "w2", "g");

  static INDArray gaussian(Random rng, long... shape) {
    int n = 1;
    for (long s : shape) {
      n *= (int) s;
    }
    float[] v = new float[n];
    for (int i = 0; i < n; i++) {
      v[i] = (float) rng.nextGaussian();
    }
    return Nd4j.createFromArray(v).reshape(shape);
  }

  /**
   * A small graph with what makes array reuse risky: views (reshape, permute), an op whose
   * output feeds several consumers, broadcasts, a softmax, and the multi-positive loss.
   */
  static SameDiff graph() {
    Random rng = new Random(1);
    SameDiff sd = SameDiff.create();
    SDVariable x = sd.placeHolder("x", DataType.FLOAT, -1, 12);
    SDVariable ids = sd.placeHolder("ids", DataType.INT64, -1);
    SDVariable w1 = sd.var("w1", gaussian(rng, 12, 24).muli(0.3));
    SDVariable b1 = sd.var("b1", gaussian(rng, 24).muli(0.1));
    SDVariable w2 = sd.var("w2", gaussian(rng, 24, 12).muli(0.3));
    SDVariable g = sd.var("g", gaussian(rng, 12).addi(1));
    SDVariable h = sd.mmul(x, w1).add(b1);
    h = h.mul(sd.math.erf(h)).add(h);
    SDVariable heads = sd.permute(sd.reshape(h, -1, 2, 3, 4), 1, 0, 2, 3);  // [2, N, 3, 4]
    SDVariable att = sd.nn.softmax(sd.mmul(heads, heads, false, true, false), 3);
    SDVariable mixed = sd.reshape(sd.permute(sd.mmul(att, heads), 1, 0, 2, 3), -1, 24);
    SDVariable y = sd.mmul(mixed, w2).mul(g);
    sd.setLossVariables(MultiPositiveContrastiveLoss.builder().temperature(0.5).build().define(sd, "loss", y, ids));
    return sd;
  }

  @Test
  void sameGradientsAsCalculateGradientsOverRepeatedCalls() {
    SameDiff reference = graph();
    SameDiff library = graph();
    List<String> names = PARAMETERS;
    Random rng = new Random(2);
    for (int call = 0; call < 4; call++) {
      // batch sizes vary so the cache sees both repeated and new shapes
      int n = call % 2 == 0 ? 6 : 8;
      long[] ids = new long[n];
      for (int i = 0; i < n; i++) {
        ids[i] = i % (n / 2);
      }
      Map<String, INDArray> feed = Map.of("x", gaussian(rng, n, 12), "ids", Nd4j.createFromArray(ids));
      Map<String, INDArray> expected = reference.calculateGradients(feed, names);
      Map<String, INDArray> actual = Gradients.calculate(library, feed, names);
      assertThat(actual.keySet()).containsExactlyInAnyOrderElementsOf(names);
      for (String v : names) {
        // bit for bit (INDArray.equals would allow 1e-5)
        assertThat(actual.get(v).shape()).isEqualTo(expected.get(v).shape());
        assertThat(actual.get(v).dup().data().asFloat()).as("%s, call %s", v, call)
            .containsExactly(expected.get(v).dup().data().asFloat());
      }
      // a training loop updates the variables in place between calls
      for (String v : names) {
        reference.getArrForVarName(v).subi(expected.get(v).mul(0.1));
        library.getArrForVarName(v).subi(actual.get(v).mul(0.1));
      }
    }
  }

  /**
   * A loop that recycles each step's gradients still gets sd.calculateGradients' numbers bit for
   * bit, and once warm it allocates nothing new: every intermediate and every gradient lands in a
   * buffer of an earlier step.
   */
  @Test
  void recycledStepsStayExactAndStopAllocating() {
    Random rng = new Random(5);
    SameDiff reference = graph();
    SameDiff library = graph();
    List<String> names = PARAMETERS;
    // AdamW's eager ops leave the gradients with a native use count of 2, which release() alone
    // would take for a live view; recycle must pool them anyway
    AdamW referenceOptimiser = AdamW.builder().learningRate(0.05).build();
    AdamW libraryOptimiser = AdamW.builder().learningRate(0.05).build();
    long freshAfterWarmUp = -1;
    for (int call = 0; call < 6; call++) {
      Map<String, INDArray> feed = Map.of("x", gaussian(rng, 8, 12), "ids", Nd4j.createFromArray(0L, 1, 2, 3, 0, 1, 2, 3));
      Map<String, INDArray> expected = reference.calculateGradients(feed, names);
      Map<String, INDArray> actual = Gradients.calculate(library, feed, names);
      for (String v : names) {
        assertThat(actual.get(v).dup().data().asFloat()).as("%s, call %s", v, call)
            .containsExactly(expected.get(v).dup().data().asFloat());
      }
      referenceOptimiser.step(reference, expected);
      libraryOptimiser.step(library, actual);
      Gradients.recycle(library, actual.values());
      ReusingMemoryManager memory = (ReusingMemoryManager) library.getFunction("grad").getSessions()
          .get(Thread.currentThread().getId()).getMmgr();
      if (call == 2) {
        freshAfterWarmUp = memory.allocatedCount();
      } else if (call > 2) {
        assertThat(memory.allocatedCount()).as("fresh allocations after call %s", call).isEqualTo(freshAfterWarmUp);
        assertThat(memory.reusedCount()).isPositive();
      }
    }
  }

  /**
   * biasAdd's gradient comes from LeanBiasAdd (a matrix product, no biasadd_bp) and matches
   * SameDiff's own to float rounding, for a matrix and for channels-last and channels-first
   * images (the latter keeps ND4J's gradient); ND4J's op registry is restored afterwards.
   */
  @Test
  void biasAddGetsTheLeanGradientWithTheSameValues() {
    for (boolean channelsFirst : new boolean[] {false, true}) {
      for (long[] shape : new long[][] {{7, 5}, {2, 3, 4, 5}}) {
        long channels = channelsFirst ? shape[1] : shape[shape.length - 1];
        java.util.function.Supplier<SameDiff> build = () -> {
          Random rng = new Random(9);
          SameDiff sd = SameDiff.create();
          SDVariable x = sd.var("x", gaussian(rng, shape));
          SDVariable b = sd.var("b", gaussian(rng, channels));
          SDVariable y = sd.nn.biasAdd(x, b, channelsFirst);
          sd.setLossVariables(y.mul(sd.constant(gaussian(rng, shape))).mul(y).sum());
          return sd;
        };
        SameDiff reference = build.get();
        SameDiff library = build.get();
        Map<String, INDArray> expected = reference.calculateGradients(Map.of(), List.of("x", "b"));
        Map<String, INDArray> actual = Gradients.calculate(library, Map.of(), List.of("x", "b"));
        String what = (channelsFirst ? "NCHW " : "NHWC ") + java.util.Arrays.toString(shape);
        for (String v : List.of("x", "b")) {
          double error = actual.get(v).sub(expected.get(v)).norm2Number().doubleValue()
              / expected.get(v).norm2Number().doubleValue();
          assertThat(error).as("%s, %s", what, v).isLessThan(1e-6);
        }
        boolean lean = !channelsFirst || shape.length == 2;
        assertThat(library.getFunction("grad").getOps().values())
            .as(what).extracting(op -> op.getOp().opName())
            .matches(names -> names.contains("biasadd_bp") != lean);
      }
    }
    long hash = Nd4j.getExecutioner().getCustomOperations().get("biasadd").getHash();
    assertThat(org.nd4j.imports.converters.DifferentialFunctionClassHolder.getInstance()
        .customOpClassForHashAndName(hash, "biasadd"))
        .isEqualTo(org.nd4j.linalg.api.ops.impl.broadcast.BiasAdd.class);
  }

  @Test
  void theLeanBiasGradientCanBeSwitchedOff() {
    java.util.function.Supplier<SameDiff> build = () -> {
      SameDiff sd = SameDiff.create();
      SDVariable b = sd.var("b", gaussian(new Random(12), 5));
      SDVariable y = sd.nn.biasAdd(sd.var("x", gaussian(new Random(13), 7, 5)), b, false);
      sd.setLossVariables(y.mul(y).sum());
      return sd;
    };
    SameDiff reference = build.get();
    SameDiff library = build.get();
    System.setProperty(Gradients.LEAN_BIAS_ADD_PROPERTY, "false");
    try {
      Map<String, INDArray> actual = Gradients.calculate(library, Map.of(), List.of("x", "b"));
      Map<String, INDArray> expected = reference.calculateGradients(Map.of(), List.of("x", "b"));
      assertThat(actual.get("b").data().asFloat()).containsExactly(expected.get("b").data().asFloat());
      assertThat(library.getFunction("grad").getOps().values()).extracting(op -> op.getOp().opName())
          .contains("biasadd_bp");
    } finally {
      System.clearProperty(Gradients.LEAN_BIAS_ADD_PROPERTY);
    }
  }

  @Test
  void recycleWithoutAGradientFunctionDoesNothing() {
    SameDiff sd = graph();
    INDArray a = Nd4j.ones(DataType.FLOAT, 3);
    Gradients.recycle(sd, List.of(a));
    assertThat(a.data().asFloat()).containsExactly(1f, 1f, 1f);
    assertThatThrownBy(() -> Gradients.recycle(sd, null))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("arrays");
  }

  @Test
  void gradientsStayValidAfterLaterCalls() {
    SameDiff sd = graph();
    Map<String, INDArray> feed = Map.of("x", gaussian(new Random(3), 6, 12), "ids", Nd4j.createFromArray(0L, 1, 2, 0, 1, 2));
    Map<String, INDArray> first = Gradients.calculate(sd, feed, List.of("w1", "w2"));
    INDArray copy = first.get("w1").dup();
    for (int i = 0; i < 3; i++) {
      Gradients.calculate(sd, Map.of("x", gaussian(new Random(10 + i), 6, 12), "ids", feed.get("ids")),
          List.of("w1", "w2"));
    }
    assertThat(first.get("w1").data().asFloat()).containsExactly(copy.data().asFloat());
  }

  /** One pass gives sd.calculateGradients' gradients and sd.output's forward values. */
  @Test
  void withOutputsMatchesCalculateGradientsAndOutput() {
    SameDiff reference = graph();
    SameDiff library = graph();
    List<String> names = PARAMETERS;
    Map<String, INDArray> feed = Map.of("x", gaussian(new Random(4), 6, 12), "ids", Nd4j.createFromArray(0L, 1, 2, 0, 1, 2));
    Map<String, INDArray> expected = reference.calculateGradients(feed, names);
    double expectedLoss = reference.output(feed, "loss").get("loss").getDouble(0);
    Gradients.Step step = Gradients.calculateWithOutputs(library, feed, names, List.of("loss"));
    assertThat(step.outputs().keySet()).containsExactly("loss");
    assertThat(step.outputs().get("loss").getDouble(0)).isEqualTo(expectedLoss);
    assertThat(step.gradients().keySet()).containsExactlyInAnyOrderElementsOf(names);
    for (String v : names) {
      assertThat(step.gradients().get(v).dup().data().asFloat()).as(v)
          .containsExactly(expected.get(v).dup().data().asFloat());
    }
    assertThatThrownBy(() -> Gradients.calculateWithOutputs(library, feed, names, List.of("nope")))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("outputs").hasMessageContaining("'nope'");
  }

  @Test
  void rejectsUnknownNamesAndEmptyLists() {
    SameDiff sd = graph();
    Map<String, INDArray> feed = Map.of("x", Nd4j.zeros(DataType.FLOAT, 2, 12), "ids", Nd4j.createFromArray(0L, 0));
    assertThatThrownBy(() -> Gradients.calculate(sd, feed, List.of("w1", "nope")))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("variables").hasMessageContaining("'nope'");
    assertThatThrownBy(() -> Gradients.calculate(sd, feed, List.of()))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("variables");
  }

  @Test
  void createGradientFunctionBuildsItWithoutPrinting() {
    PrintStream stdout = System.out;
    ByteArrayOutputStream plain = new ByteArrayOutputStream();
    ByteArrayOutputStream quiet = new ByteArrayOutputStream();
    SameDiff reference = graph();
    SameDiff library = graph();
    try {
      System.setOut(new PrintStream(plain, true));
      reference.createGradFunction();
      System.setOut(new PrintStream(quiet, true));
      Gradients.createGradientFunction(library);
      Gradients.createGradientFunction(library);  // a second call is a no-op
    } finally {
      System.setOut(stdout);
    }
    assertThat(plain.size()).as("SameDiff's own createGradFunction prints (the reason for the method)").isPositive();
    assertThat(quiet.toString()).isEmpty();
    assertThat(library.hasGradientFunction()).isTrue();
    assertThat(System.out).isSameAs(stdout);
  }

  /** The lean biasadd is visible on the building thread only, and only inside the call. */
  @Test
  void theLeanOpSubstitutionIsInvisibleToOtherThreads() throws Exception {
    assertThat(LeanOpRegistry.installed()).as("ND4J's registry laid out as in M2.1").isTrue();
    long hash = Nd4j.getExecutioner().getCustomOperations().get("biasadd").getHash();
    org.nd4j.imports.converters.DifferentialFunctionClassHolder holder =
        org.nd4j.imports.converters.DifferentialFunctionClassHolder.getInstance();
    Class<?>[] seen = new Class<?>[2];
    LeanOpRegistry.withLeanOps(() -> {
      seen[0] = holder.customOpClassForHashAndName(hash, "biasadd");
      Thread other = new Thread(() -> seen[1] = holder.customOpClassForHashAndName(hash, "biasadd"));
      other.start();
      try {
        other.join();
      } catch (InterruptedException e) {
        throw new AssertionError(e);
      }
    });
    assertThat(seen[0]).isEqualTo(io.github.stablerep.core.internal.LeanBiasAdd.class);
    assertThat(seen[1]).isEqualTo(org.nd4j.linalg.api.ops.impl.broadcast.BiasAdd.class);
    assertThat(holder.customOpClassForHashAndName(hash, "biasadd"))
        .isEqualTo(org.nd4j.linalg.api.ops.impl.broadcast.BiasAdd.class);
  }

  /** Muting drops the calling thread's output only; another thread's output passes through. */
  @Test
  void mutingDropsOnlyTheCallersOutput() throws Exception {
    PrintStream stdout = System.out;
    ByteArrayOutputStream captured = new ByteArrayOutputStream();
    try {
      System.setOut(new PrintStream(captured, true));
      Gradients.mutingCaller(() -> {
        System.out.println("from the caller");
        Thread other = new Thread(() -> System.out.println("from another thread"));
        other.start();
        try {
          other.join();
        } catch (InterruptedException e) {
          throw new AssertionError(e);
        }
      });
      System.out.println("after");
    } finally {
      System.setOut(stdout);
    }
    assertThat(captured.toString()).isEqualTo("from another thread" + System.lineSeparator() + "after"
        + System.lineSeparator());
  }
}
