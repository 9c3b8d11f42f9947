package io.github.stablerep.core.train;

import static com.google.common.base.Preconditions.checkArgument;

import io.github.stablerep.core.optim.AdamW;
import io.github.stablerep.core.optim.GradientClipping;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.autodiff.samediff.VariableType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * One optimiser step of a SameDiff model, with the workarounds ND4J 1.0.0-M2.1 needs done in one
 * place: a training loop is {@code for (batch : batches) step.run(batch)}.
 *
 * <p>{@link #run} does, in this order:
 *
 * <ol>
 *   <li>feeds each {@link TrainingPart}'s per-step placeholders (training-mode noise: drop path,
 *       dropout), drawn from {@link #stepSeed stepSeed(noiseSeed, step)}, where {@code step} is
 *       the optimiser's step count, so a run resumed from a checkpoint draws the same noise as an
 *       uninterrupted one;
 *   <li>computes the gradients of the loss with respect to the parameters, the loss value and
 *       the parts' batch statistics in one pass of SameDiff's gradient function, with
 *       intermediate arrays released and reused by length (SameDiff's own {@code
 *       calculateGradients} keeps every activation of the step allocated: more than 20 GB for
 *       ViT-B/16 at batch 16);
 *   <li>clips the gradients to a global norm, if set ({@link GradientClipping});
 *   <li>steps {@link AdamW}, whose learning-rate schedule advances with its step count;
 *   <li>hands the gradients' buffers back for the next step's gradients;
 *   <li>lets each part fold its batch statistics in (BatchNorm running mean and variance).
 * </ol>
 *
 * <p>The gradients are bit for bit those of {@code sd.calculateGradients}, except a {@code
 * biasAdd}'s bias gradient, which is summed as a matrix product (same value, another summation
 * order; much faster than M2.1's column reduction, see benchmarks/README.md, "Figures behind
 * library comments"); {@code -Dstablerep.gradients.leanBiasAdd=false} turns that off.
 *
 * <pre>{@code
 * TrainStep step = TrainStep.builder().graph(sd).loss("loss").parts(vitGraph, headGraph)
 *     .optimizer(adamW).clipGradientNorm(1.0).noiseSeed(seed).build();
 * for (MultiViewBatch b : epoch) {
 *   TrainStep.Result r = step.run(Map.of("images", b.images(), "ids", ids(b)));
 * }
 * }</pre>
 *
 * <p>Not thread-safe, and meant to run on one thread: the optimiser holds state, and the reused
 * buffers belong to the calling thread's session of the gradient function.
 */
public final class TrainStep {

  private static final long NOISE_SEED_MULTIPLIER = 1_000_003L;

  private final SameDiff sd;
  private final String loss;
  private final List<TrainingPart> parts;
  private final List<String> parameters;
  private final AdamW optimizer;
  private final double clipNorm;
  private final long noiseSeed;
  private final List<String> fetched;
  private final String batchPlaceholder;

  private TrainStep(Builder b, AdamW optimizer, String loss, List<String> parameters, List<String> fetched) {
    this.sd = b.graph;
    this.loss = loss;
    this.parts = List.copyOf(b.parts);
    this.parameters = List.copyOf(parameters);
    this.optimizer = optimizer;
    this.clipNorm = b.clipNorm;
    this.noiseSeed = b.noiseSeed;
    this.fetched = List.copyOf(fetched);
    this.batchPlaceholder = b.batchPlaceholder;
  }

  public static Builder builder() {
    return new Builder();
  }

  /**
   * The seed from which step {@code step} draws its noise: {@code noiseSeed · 1 000 003 + step}
   * (so seed 0 draws step {@code s} from seed {@code s}).
   */
  public static long stepSeed(long noiseSeed, long step) {
    return noiseSeed * NOISE_SEED_MULTIPLIER + step;
  }

  /** One step's outcome; {@code outputs} is unmodifiable. */
  public record Result(long step, double loss, double learningRate, double gradientNorm, Map<String, INDArray> outputs) {
    /**
     * @param step the optimiser's step count before this step (0 for the first)
     * @param loss the loss of this batch, before the update
     * @param learningRate the learning rate this step used
     * @param gradientNorm the global gradient norm before clipping; NaN when clipping is off
     *     (it is not computed then)
     * @param outputs the forward values of this step's pass: the loss, the parts' statistics and
     *     the builder's {@link Builder#outputs}, by name
     */
    public Result {
      outputs = Collections.unmodifiableMap(new LinkedHashMap<>(outputs));
    }
  }

  /**
   * One training step on {@code batch} (see the class comment).
   *
   * @param batch placeholder values: the model's inputs and the loss's labels; not the parts'
   *     per-step placeholders, which the step feeds itself
   * @throws IllegalArgumentException if the batch is null or feeds a part's placeholder, its
   *     arrays disagree on the batch size, or the loss is not finite (nothing is updated then)
   */
  public Result run(Map<String, INDArray> batch) {
    checkArgument(batch != null, "batch: expected placeholder values by name, found null");
    long step = optimizer.stepCount();
    Map<String, INDArray> feed = new HashMap<>(batch);
    if (!parts.isEmpty()) {
      int n = batchSize(batch);
      long seed = stepSeed(noiseSeed, step);
      for (TrainingPart part : parts) {
        for (Map.Entry<String, INDArray> e : part.stepFeeds(n, seed).entrySet()) {
          checkArgument(!batch.containsKey(e.getKey()),
              "batch: expected no value for '%s', which the step feeds itself (a training part's per-step input)",
              e.getKey());
          feed.put(e.getKey(), e.getValue());
        }
      }
    }
    Gradients.Step pass = Gradients.calculateWithOutputs(sd, feed, parameters, fetched);
    Map<String, INDArray> grads = pass.gradients();
    Map<String, INDArray> outputs = pass.outputs();
    double value = outputs.get(loss).getDouble(0);
    if (!Double.isFinite(value)) {
      Gradients.recycle(sd, grads.values());
      throw new IllegalArgumentException(
          "loss: expected a finite value at step " + step + ", found " + value + "; nothing was updated");
    }
    double norm = Double.isNaN(clipNorm) ? Double.NaN : GradientClipping.clipByGlobalNorm(grads, clipNorm);
    double lr = optimizer.step(sd, grads);
    Gradients.recycle(sd, grads.values());
    for (TrainingPart part : parts) {
      part.updateStatistics(outputs);
    }
    return new Result(step, value, lr, norm, outputs);
  }

  private int batchSize(Map<String, INDArray> batch) {
    if (batchPlaceholder != null) {
      INDArray a = batch.get(batchPlaceholder);
      checkArgument(a != null && a.rank() >= 1, "batch: expected an array of rank >= 1 for '%s' (the batch placeholder), "
          + "found %s", batchPlaceholder, a == null ? "none" : "rank " + a.rank());
      return Math.toIntExact(a.size(0));
    }
    long n = -1;
    String first = null;
    for (Map.Entry<String, INDArray> e : batch.entrySet()) {
      INDArray a = e.getValue();
      checkArgument(a != null, "batch: expected an array for '%s', found null", e.getKey());
      if (a.rank() == 0) {
        continue;
      }
      if (n < 0) {
        n = a.size(0);
        first = e.getKey();
      } else {
        checkArgument(a.size(0) == n, "batch: expected every array to have the batch size %s ('%s') as its first "
            + "dimension, found %s for '%s'; name the one that counts with Builder.batchPlaceholder",
            n, first, a.size(0), e.getKey());
      }
    }
    checkArgument(n >= 1, "batch: expected at least one array with a batch dimension, found %s", batch.keySet());
    return Math.toIntExact(n);
  }

  public SameDiff graph() {
    return sd;
  }

  public String lossName() {
    return loss;
  }

  /** The trainable variables, in the order the parts and {@link Builder#parameters} gave them. */
  public List<String> parameterNames() {
    return parameters;
  }

  public AdamW optimizer() {
    return optimizer;
  }

  /** Steps taken so far: the optimiser's step count (restored with its state on resume). */
  public long stepCount() {
    return optimizer.stepCount();
  }

  /**
   * Defaults: no clipping (the reference does not clip), noise seed 0, an {@link AdamW} with the
   * paper's defaults. The graph must be set, with a loss and at least one parameter.
   */
  public static final class Builder {
    private SameDiff graph;
    private String loss;
    private final List<TrainingPart> parts = new ArrayList<>();
    private final List<String> parameters = new ArrayList<>();
    private AdamW optimizer;
    private double clipNorm = Double.NaN;
    private long noiseSeed;
    private final List<String> outputs = new ArrayList<>();
    private String batchPlaceholder;

    private Builder() {}

    /** The graph holding the model and the loss. Required. */
    public Builder graph(SameDiff sd) {
      this.graph = sd;
      return this;
    }

    /**
     * The scalar loss variable; default {@code sd}'s single loss variable. If {@code sd} has no
     * loss variable yet, {@code build()} makes this one its loss.
     */
    public Builder loss(String name) {
      this.loss = name;
      return this;
    }

    public Builder loss(SDVariable variable) {
      return loss(variable == null ? null : variable.name());
    }

    /** Model parts whose parameters are trained and whose feeds and statistics the step handles. */
    public Builder parts(TrainingPart... parts) {
      checkArgument(parts != null, "parts: expected training parts, found null");
      return parts(Arrays.asList(parts));
    }

    public Builder parts(Collection<? extends TrainingPart> parts) {
      checkArgument(parts != null, "parts: expected training parts, found null");
      this.parts.addAll(parts);
      return this;
    }

    /** Further trainable variables by name, for a graph not made of {@link TrainingPart}s. */
    public Builder parameters(Collection<String> names) {
      checkArgument(names != null, "parameters: expected variable names, found null");
      this.parameters.addAll(names);
      return this;
    }

    /** The optimiser; its learning rate is its schedule at its step count. */
    public Builder optimizer(AdamW optimizer) {
      this.optimizer = optimizer;
      return this;
    }

    /** Clips the gradients to this global L2 norm before the optimiser step (torch's clip_grad_norm_). */
    public Builder clipGradientNorm(double maxNorm) {
      this.clipNorm = maxNorm;
      return this;
    }

    /** Seed of the parts' per-step noise; step {@code s} draws from {@link #stepSeed stepSeed(seed, s)}. */
    public Builder noiseSeed(long seed) {
      this.noiseSeed = seed;
      return this;
    }

    /** Further forward values to return in {@link Result#outputs()}. */
    public Builder outputs(String... names) {
      checkArgument(names != null, "outputs: expected variable names, found null");
      this.outputs.addAll(Arrays.asList(names));
      return this;
    }

    /**
     * The placeholder whose first dimension is the batch size the parts draw noise for; needed
     * only when a batch holds arrays with different first dimensions. Default: the common first
     * dimension of the batch's arrays.
     */
    public Builder batchPlaceholder(String name) {
      this.batchPlaceholder = name;
      return this;
    }

    /**
     * Validates and builds; also builds the graph's gradient function (quietly) now rather than
     * in the first step.
     *
     * @throws IllegalArgumentException naming the field, what was expected and what was found
     */
    public TrainStep build() {
      checkArgument(graph != null, "graph: expected a SameDiff instance, found null");
      List<String> lossVariables = graph.getLossVariables();
      String lossName = loss;
      if (lossName == null) {
        checkArgument(lossVariables.size() == 1,
            "loss: expected the name of the loss variable (the graph has %s loss variables: %s)", lossVariables.size(),
            lossVariables);
        lossName = lossVariables.get(0);
      }
      checkArgument(graph.hasVariable(lossName), "loss: expected a variable of the graph, found '%s'", lossName);
      checkArgument(lossVariables.isEmpty() || lossVariables.equals(List.of(lossName)),
          "loss: expected '%s' to be the graph's only loss variable, found loss variables %s", lossName, lossVariables);
      for (TrainingPart p : parts) {
        checkArgument(p != null, "parts: expected training parts, found null among %s", parts);
      }
      Set<String> params = new LinkedHashSet<>();
      List<String> duplicates = new ArrayList<>();
      List<String> all = new ArrayList<>();
      parts.forEach(p -> all.addAll(p.parameterNames()));
      all.addAll(parameters);
      for (String name : all) {
        if (!params.add(name)) {
          duplicates.add(name);
        }
      }
      checkArgument(duplicates.isEmpty(), "parameters: expected each name once (parts and parameters), found repeats %s",
          duplicates);
      checkArgument(!params.isEmpty(), "parameters: expected at least one trainable variable (from parts or "
          + "parameters), found none");
      for (String name : params) {
        SDVariable v = graph.hasVariable(name) ? graph.getVariable(name) : null;
        checkArgument(v != null && v.getVariableType() == VariableType.VARIABLE,
            "parameters: expected trainable variables of the graph, found '%s' (%s)", name,
            v == null ? "no such variable" : v.getVariableType());
      }
      List<String> fetch = new ArrayList<>();
      fetch.add(lossName);
      for (TrainingPart p : parts) {
        fetch.addAll(p.statisticNames());
      }
      fetch.addAll(outputs);
      for (String name : fetch) {
        checkArgument(name != null && graph.hasVariable(name), "outputs: expected variables of the graph, found '%s'",
            name);
      }
      checkArgument(Double.isNaN(clipNorm) || (Double.isFinite(clipNorm) && clipNorm > 0),
          "clipGradientNorm: expected a finite value > 0 (or no clipping), found %s", clipNorm);
      checkArgument(batchPlaceholder == null || (graph.hasVariable(batchPlaceholder)
          && graph.getVariable(batchPlaceholder).isPlaceHolder()),
          "batchPlaceholder: expected a placeholder of the graph, found '%s'", batchPlaceholder);
      if (lossVariables.isEmpty()) {
        graph.setLossVariables(lossName);
      }
      Gradients.createGradientFunction(graph);
      // a fresh default optimiser per build, so that two steps built from one builder share no state
      AdamW opt = optimizer != null ? optimizer : AdamW.builder().build();
      return new TrainStep(this, opt, lossName, new ArrayList<>(params), new ArrayList<>(new LinkedHashSet<>(fetch)));
    }
  }
}
