package io.github.stablerep.models.vit;

import static com.google.common.base.Preconditions.checkArgument;

import io.github.stablerep.core.io.StrictJson;
import io.github.stablerep.models.WeightReport;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Random;
import java.util.Set;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * StableRep's projection head ({@code VisionEncoder.image_mlp} in the reference's
 * models/StableRep.py): with the default three layers,
 *
 * <pre>
 *   layer1 Linear(D, H) → bn1 BatchNorm(H) → ReLU → layer2 Linear(H, H) → bn2 BatchNorm(H) → ReLU
 *   → layer3 Linear(H, E)            D = 768, H = 4096, E = 256
 * </pre>
 *
 * <p><b>Per-chunk BatchNorm.</b> The reference splits the batch of all views into {@code
 * n_views} chunks along rows and applies the MLP to each chunk separately, so in training each
 * chunk is normalised with its own batch mean and biased variance, and the running statistics
 * are updated once per chunk, in chunk order. {@link #define} in training mode does the same in
 * one graph: the [N, H] activations are reshaped to [chunks, N/chunks, H] and reduced over the
 * middle axis. (The reference's {@code SyncBatchNorm} also averages each chunk over all GPUs;
 * in one process that is plain {@code BatchNorm1d}, which is what this computes.)
 *
 * <p><b>Running statistics.</b> A SameDiff graph cannot assign to its own variables, so the
 * update is an explicit step: a training-mode graph exposes each chunk's batch mean and unbiased
 * variance ({@link ProjectionHeadGraph#statisticNames()}); request them with the loss, then
 * call {@link ProjectionHeadGraph#updateRunningStatistics(Map)}, which applies torch's rule
 * {@code running ← (1 − momentum)·running + momentum·batch} once per chunk, in order. Running
 * statistics are SameDiff constants (never trained, saved by {@code sd.save}); inference-mode
 * graphs read them.
 *
 * <p><b>Initialisation.</b> The reference applies no custom init to the head, so Linear layers
 * get torch's default: weight and bias uniform in ±1/√fan_in (kaiming-uniform with a = √5),
 * drawn from a {@link Random} seeded with {@link Builder#seed(long)} (the same seed gives the
 * same weights; they are not torch's numbers). BatchNorm starts at weight 1, bias 0, running
 * mean 0 and running variance 1.
 *
 * <p><b>Variables.</b> Parameters are named {@code <prefix><torch key>} (prefix {@value
 * #DEFAULT_PREFIX} by default), e.g. {@code image_mlp.layer1.weight}. Linear weights are stored
 * [in, out] for {@code mmul}, i.e. transposed against torch; {@link #exportWeights} and {@link
 * #importWeights} convert. Defining the head twice on one SameDiff (say, a training graph and an
 * inference graph) shares the variables.
 *
 * <p>Immutable and thread-safe; the graphs it defines are not.
 */
public final class ProjectionHead {

  public static final int DEFAULT_INPUT_DIM = 768;
  public static final int DEFAULT_HIDDEN_DIM = 4096;
  public static final int DEFAULT_OUTPUT_DIM = 256;
  public static final int DEFAULT_LAYERS = 3;
  public static final double DEFAULT_BN_EPS = 1e-5;
  public static final double DEFAULT_BN_MOMENTUM = 0.1;
  public static final String DEFAULT_PREFIX = "image_mlp.";

  static final String RUNNING_MEAN = "running_mean";
  static final String RUNNING_VAR = "running_var";
  static final String NUM_BATCHES_TRACKED = "num_batches_tracked";

  private final int inputDim;
  private final int hiddenDim;
  private final int outputDim;
  private final int layers;
  private final boolean batchNorm;
  private final double bnEps;
  private final double bnMomentum;
  private final long seed;
  private final String prefix;

  private ProjectionHead(Builder b) {
    this.inputDim = b.inputDim;
    this.hiddenDim = b.hiddenDim;
    this.outputDim = b.outputDim;
    this.layers = b.layers;
    this.batchNorm = b.batchNorm;
    this.bnEps = b.bnEps;
    this.bnMomentum = b.bnMomentum;
    this.seed = b.seed;
    this.prefix = b.prefix;
  }

  public static Builder builder() {
    return new Builder();
  }

  public Builder toBuilder() {
    return new Builder()
        .inputDim(inputDim)
        .hiddenDim(hiddenDim)
        .outputDim(outputDim)
        .layers(layers)
        .batchNorm(batchNorm)
        .bnEps(bnEps)
        .bnMomentum(bnMomentum)
        .seed(seed)
        .variablePrefix(prefix);
  }

  /**
   * Adds the head to {@code sd} on top of {@code features}, creating its variables (seeded
   * init) unless an earlier call made them.
   *
   * @param features [N, inputDim] floating point; parameters take its data type
   * @param viewChunks the number of view chunks N is split into for BatchNorm statistics in
   *     training (the reference's {@code n_views}); N must be a multiple of it, and each chunk
   *     needs at least 2 rows for an unbiased variance. Ignored in inference mode.
   * @param training batch statistics per chunk (and exposed for the running update) if true,
   *     running statistics if false
   * @throws IllegalArgumentException for a null argument, viewChunks &lt; 1, features of the
   *     wrong rank, width or data type, a known N that is not a multiple of viewChunks, or
   *     existing variables of the wrong shape
   */
  public ProjectionHeadGraph define(SameDiff sd, SDVariable features, int viewChunks, boolean training) {
    checkArgument(sd != null, "sd: expected a SameDiff instance, found null");
    checkArgument(features != null, "features: expected an SDVariable [N, %s], found null", inputDim);
    checkArgument(viewChunks >= 1, "viewChunks: expected >= 1, found %s", viewChunks);
    DataType type = features.dataType();
    checkArgument(
        type == DataType.FLOAT || type == DataType.DOUBLE || type == DataType.HALF || type == DataType.BFLOAT16,
        "features: expected a floating-point data type, found %s", type);
    long[] shape = features.getShape();
    if (shape != null) {
      checkArgument(
          shape.length == 2 && (shape[1] < 0 || shape[1] == inputDim),
          "features: expected shape [N, %s], found %s", inputDim, Arrays.toString(shape));
      checkArgument(
          !training || shape[0] < 0 || shape[0] % viewChunks == 0,
          "features: expected N to be a multiple of viewChunks %s, found N = %s", viewChunks, shape[0]);
    }
    Map<String, SDVariable> vars = variables(sd, type);
    List<String> statNames = new ArrayList<>();
    SDVariable h = features;
    for (int i = 1; i <= layers; i++) {
      h = h.mmul(vars.get("layer" + i + ".weight")).add(vars.get("layer" + i + ".bias"));
      if (i == layers) {
        break;
      }
      if (batchNorm) {
        String bn = "bn" + i + ".";
        SDVariable gamma = vars.get(bn + "weight");
        SDVariable beta = vars.get(bn + "bias");
        if (training) {
          h = chunkBatchNorm(sd, h, viewChunks, gamma, beta, bn, statNames);
        } else {
          SDVariable scale = sd.math.rsqrt(vars.get(bn + RUNNING_VAR).add(bnEps)).mul(gamma);
          h = h.sub(vars.get(bn + RUNNING_MEAN)).mul(scale).add(beta);
        }
      }
      h = sd.nn.relu(h, 0);
    }
    SDVariable out = h.rename(unique(sd, prefix + (training ? "train_out" : "eval_out")));
    return new ProjectionHeadGraph(this, sd, out, training, viewChunks, statNames);
  }

  /**
   * nn.BatchNorm1d in training mode per chunk: biased variance to normalise, and the chunk's
   * mean and unbiased variance exposed (as [chunks, H]) for the running update, as torch uses.
   * Composed rather than {@code sd.nn.batchNorm}: measured in 1.0.0-M2.1, the built-in's
   * forward with given mean and variance matches torch (4e-16 in fp64), but its backward fails
   * in SameDiff ("Invalid axis argument: axis must be specified ... Got null"), and it cannot
   * take per-chunk statistics anyway. The inference path is composed too, for the same backward.
   */
  private SDVariable chunkBatchNorm(
      SameDiff sd, SDVariable h, int chunks, SDVariable gamma, SDVariable beta, String bn, List<String> statNames) {
    SDVariable x = sd.reshape(h, chunks, -1, hiddenDim);
    SDVariable mean = x.mean(true, 1);
    SDVariable centered = x.sub(mean);
    SDVariable var = centered.mul(centered).mean(true, 1);
    SDVariable xhat = centered.mul(sd.math.rsqrt(var.add(bnEps)));
    SDVariable y = xhat.mul(sd.reshape(gamma, 1, 1, hiddenDim)).add(sd.reshape(beta, 1, 1, hiddenDim));
    // the statistics do not feed the output, so they add no gradient path
    SDVariable batchMean = sd.reshape(mean, chunks, hiddenDim).rename(unique(sd, prefix + bn + "batch_mean"));
    SDVariable batchVar = sd.variance(x, true, false, 1).rename(unique(sd, prefix + bn + "batch_var"));
    statNames.add(batchMean.name());
    statNames.add(batchVar.name());
    return sd.reshape(y, -1, hiddenDim);
  }

  private static String unique(SameDiff sd, String base) {
    if (!sd.hasVariable(base)) {
      return base;
    }
    for (int k = 1; ; k++) {
      String candidate = base + "_" + k;
      if (!sd.hasVariable(candidate)) {
        return candidate;
      }
    }
  }

  /** The variables by torch key (weights [in, out]), created with the seeded init if missing. */
  private Map<String, SDVariable> variables(SameDiff sd, DataType type) {
    Map<String, long[]> shapes = sdShapes();
    Map<String, SDVariable> vars = new LinkedHashMap<>();
    boolean anyMissing = false;
    for (String key : shapes.keySet()) {
      anyMissing |= !sd.hasVariable(prefix + key);
    }
    Map<String, INDArray> init = anyMissing ? initialValues(type) : Map.of();
    for (Map.Entry<String, long[]> e : shapes.entrySet()) {
      String key = e.getKey();
      String name = prefix + key;
      SDVariable v;
      if (sd.hasVariable(name)) {
        v = sd.getVariable(name);
        long[] found = v.getShape();
        checkArgument(
            found == null || Arrays.equals(found, e.getValue()),
            "sd: variable '%s' exists with shape %s, expected %s for this head",
            name, Arrays.toString(found), Arrays.toString(e.getValue()));
      } else if (isStatistic(key)) {
        v = sd.constant(name, init.get(key));
      } else {
        v = sd.var(name, init.get(key));
      }
      vars.put(key, v);
    }
    return vars;
  }

  private static boolean isStatistic(String key) {
    return key.endsWith(RUNNING_MEAN) || key.endsWith(RUNNING_VAR) || key.endsWith(NUM_BATCHES_TRACKED);
  }

  /** Torch keys in state_dict order with their SameDiff shapes (Linear weights [in, out]). */
  Map<String, long[]> sdShapes() {
    Map<String, long[]> shapes = new LinkedHashMap<>();
    for (int i = 1; i <= layers; i++) {
      long in = i == 1 ? inputDim : hiddenDim;
      long out = i == layers ? outputDim : hiddenDim;
      shapes.put("layer" + i + ".weight", new long[] {in, out});
      shapes.put("layer" + i + ".bias", new long[] {out});
      if (batchNorm && i < layers) {
        String bn = "bn" + i + ".";
        shapes.put(bn + "weight", new long[] {hiddenDim});
        shapes.put(bn + "bias", new long[] {hiddenDim});
        shapes.put(bn + RUNNING_MEAN, new long[] {hiddenDim});
        shapes.put(bn + RUNNING_VAR, new long[] {hiddenDim});
        shapes.put(bn + NUM_BATCHES_TRACKED, new long[] {});
      }
    }
    return shapes;
  }

  /** Seeded initial values, SameDiff layout. */
  private Map<String, INDArray> initialValues(DataType type) {
    Random random = new Random(seed);
    Map<String, INDArray> init = new LinkedHashMap<>();
    for (Map.Entry<String, long[]> e : sdShapes().entrySet()) {
      String key = e.getKey();
      long[] s = e.getValue();
      INDArray a;
      if (key.startsWith("layer")) {
        long fanIn = sdShapes().get(key.substring(0, key.indexOf('.')) + ".weight")[0];
        double bound = 1.0 / Math.sqrt(fanIn);
        double[] values = new double[Math.toIntExact(s.length == 2 ? s[0] * s[1] : s[0])];
        for (int j = 0; j < values.length; j++) {
          values[j] = (2.0 * random.nextDouble() - 1.0) * bound;
        }
        a = Nd4j.createFromArray(values).castTo(type).reshape(s);
      } else if (key.endsWith(NUM_BATCHES_TRACKED)) {
        a = Nd4j.scalar(0L);
      } else if (key.endsWith("weight") || key.endsWith(RUNNING_VAR)) {
        a = Nd4j.ones(type, s);
      } else {
        a = Nd4j.zeros(type, s);
      }
      init.put(key, a);
    }
    return init;
  }

  /**
   * The head's weights under torch's state_dict keys ({@code layer1.weight} [out, in], {@code
   * layer1.bias}, {@code bn1.weight}, {@code bn1.bias}, {@code bn1.running_mean}, {@code
   * bn1.running_var}, {@code bn1.num_batches_tracked} int64, …), as copies in C order, ready for
   * {@code SafeTensors.write} and {@code load_state_dict} of the reference's {@code image_mlp}.
   *
   * @throws IllegalArgumentException if the head has not been defined on {@code sd}
   */
  public Map<String, INDArray> exportWeights(SameDiff sd) {
    checkArgument(sd != null, "sd: expected a SameDiff instance, found null");
    Map<String, INDArray> out = new LinkedHashMap<>();
    for (String key : sdShapes().keySet()) {
      INDArray a = array(sd, key);
      out.put(key, (isLinearWeight(key) ? a.transpose() : a).dup('c'));
    }
    return out;
  }

  /**
   * Loads weights in torch's layout (see {@link #exportWeights}) into the variables that {@link
   * #define} created, casting to their data type. {@code num_batches_tracked} may be absent (as
   * torch allows); every other key is required. Nothing changes unless every key checks out.
   * Keys the head has no parameter for are unexpected: reported and logged at WARN, not fatal
   * (the rule of every import, see {@link WeightReport}).
   *
   * @return what was loaded and what was unexpected
   * @throws IllegalArgumentException listing every missing and mis-shaped key with its expected
   *     and found shape, and the unexpected keys
   */
  public WeightReport importWeights(SameDiff sd, Map<String, INDArray> weights) {
    checkArgument(sd != null, "sd: expected a SameDiff instance, found null");
    checkArgument(weights != null, "weights: expected a map of torch keys to arrays, found null");
    Map<String, long[]> shapes = sdShapes();
    WeightReport.Builder r = WeightReport.builder("for " + (prefix.isEmpty() ? "the projection head" : prefix));
    for (Map.Entry<String, INDArray> e : weights.entrySet()) {
      long[] sdShape = shapes.get(e.getKey());
      if (sdShape == null) {
        r.unexpected(e.getKey());
        continue;
      }
      long[] expected = torchShape(e.getKey(), sdShape);
      INDArray a = e.getValue();
      // num_batches_tracked is int64 in torch: only its shape is checked
      boolean fits = e.getKey().endsWith(NUM_BATCHES_TRACKED)
          ? a != null && Arrays.equals(expected, a.shape()) : WeightReport.fits(expected, a);
      if (fits) {
        r.loaded(e.getKey());
      } else {
        r.mismatched(e.getKey(), expected, a);
      }
    }
    for (Map.Entry<String, long[]> e : shapes.entrySet()) {
      if (!weights.containsKey(e.getKey()) && !e.getKey().endsWith(NUM_BATCHES_TRACKED)) {
        r.missing(e.getKey(), torchShape(e.getKey(), e.getValue()));
      }
    }
    WeightReport report = r.build().requireComplete();
    if (!report.unexpected().isEmpty()) {
      org.slf4j.LoggerFactory.getLogger(ProjectionHead.class).warn("{}", report);
    }
    Map<String, INDArray> targets = new LinkedHashMap<>();
    for (String key : report.loaded()) {
      targets.put(key, array(sd, key));
    }
    targets.forEach((key, target) -> {
      INDArray src = isLinearWeight(key) ? weights.get(key).transpose() : weights.get(key);
      target.assign(src.castTo(target.dataType()));
    });
    return report;
  }

  INDArray array(SameDiff sd, String key) {
    String name = prefix + key;
    INDArray a = sd.hasVariable(name) ? sd.getVariable(name).getArr() : null;
    checkArgument(a != null, "sd: expected variable '%s'; call define(...) on this SameDiff first", name);
    return a;
  }

  private static boolean isLinearWeight(String key) {
    return key.startsWith("layer") && key.endsWith(".weight");
  }

  private static long[] torchShape(String key, long[] sdShape) {
    return isLinearWeight(key) ? new long[] {sdShape[1], sdShape[0]} : sdShape;
  }

  /** SameDiff names of the trainable parameters (weights, biases, BN affine). */
  public List<String> parameterNames() {
    List<String> names = new ArrayList<>();
    for (String key : sdShapes().keySet()) {
      if (!isStatistic(key)) {
        names.add(prefix + key);
      }
    }
    return names;
  }

  public int inputDim() {
    return inputDim;
  }

  public int hiddenDim() {
    return hiddenDim;
  }

  public int outputDim() {
    return outputDim;
  }

  public int layers() {
    return layers;
  }

  public boolean batchNorm() {
    return batchNorm;
  }

  public double bnEps() {
    return bnEps;
  }

  public double bnMomentum() {
    return bnMomentum;
  }

  public long seed() {
    return seed;
  }

  public String variablePrefix() {
    return prefix;
  }

  // ---------------------------------------------------------------- config

  /** {@code _class_name} of this head's config. */
  public static final String CONFIG_CLASS_NAME = "ProjectionHead";

  private static final Map<String, String> CONFIG_FIELD_OF = Map.of(
      "inputDim", "input_dim", "hiddenDim", "hidden_dim", "outputDim", "output_dim", "layers", "layers",
      "batchNorm", "batch_norm", "bnEps", "bn_eps", "bnMomentum", "bn_momentum", "seed", "seed",
      "variablePrefix", "variable_prefix");

  /**
   * This head's configuration as compact JSON: the builder's settings in snake case ({@code
   * input_dim}, {@code hidden_dim}, {@code output_dim}, {@code layers}, {@code batch_norm},
   * {@code bn_eps}, {@code bn_momentum}, {@code seed}, {@code variable_prefix}), plus {@code
   * _class_name} = {@value #CONFIG_CLASS_NAME} and {@code _config_version} = 1. {@link
   * #fromConfig} of it gives an equal head.
   */
  public String toConfig() {
    Map<String, Object> m = ConfigJson.start(CONFIG_CLASS_NAME);
    m.put("input_dim", inputDim);
    m.put("hidden_dim", hiddenDim);
    m.put("output_dim", outputDim);
    m.put("layers", layers);
    m.put("batch_norm", batchNorm);
    m.put("bn_eps", bnEps);
    m.put("bn_momentum", bnMomentum);
    m.put("seed", seed);
    m.put("variable_prefix", prefix);
    return StrictJson.write(m);
  }

  /**
   * The head a {@link #toConfig} text describes; absent (or null) fields take the builder's
   * defaults.
   *
   * @throws IllegalArgumentException naming the field, what was expected and what was found, for
   *     malformed JSON, a wrong type, an out-of-range value, an unknown field or another {@code
   *     _class_name}
   */
  public static ProjectionHead fromConfig(String json) {
    ConfigJson c = ConfigJson.parse(CONFIG_CLASS_NAME, json, Set.copyOf(CONFIG_FIELD_OF.values()));
    Builder b = builder();
    c.ifInteger("input_dim", b::inputDim);
    c.ifInteger("hidden_dim", b::hiddenDim);
    c.ifInteger("output_dim", b::outputDim);
    c.ifInteger("layers", b::layers);
    c.ifBool("batch_norm", b::batchNorm);
    c.ifNumber("bn_eps", b::bnEps);
    c.ifNumber("bn_momentum", b::bnMomentum);
    c.ifLong("seed", b::seed);
    c.ifString("variable_prefix", b::variablePrefix);
    return c.build(b::build, CONFIG_FIELD_OF);
  }

  /** Equal when every setting is. */
  @Override
  public boolean equals(Object o) {
    if (this == o) {
      return true;
    }
    if (!(o instanceof ProjectionHead h)) {
      return false;
    }
    return inputDim == h.inputDim && hiddenDim == h.hiddenDim && outputDim == h.outputDim && layers == h.layers
        && batchNorm == h.batchNorm && bnEps == h.bnEps && bnMomentum == h.bnMomentum && seed == h.seed
        && prefix.equals(h.prefix);
  }

  @Override
  public int hashCode() {
    // + 0.0 maps -0.0 to 0.0, which equals() (==) does not tell apart
    return Objects.hash(inputDim, hiddenDim, outputDim, layers, batchNorm, bnEps + 0.0, bnMomentum + 0.0, seed, prefix);
  }

  @Override
  public String toString() {
    return "ProjectionHead{" + inputDim + " -> " + hiddenDim + " -> " + outputDim + ", layers=" + layers
        + ", batchNorm=" + batchNorm + ", eps=" + bnEps + ", momentum=" + bnMomentum + ", seed=" + seed
        + ", prefix='" + prefix + "'}";
  }

  /** Defaults from StableRep: 768 → 4096 → 4096 → 256, BatchNorm eps 1e-5, momentum 0.1. */
  public static final class Builder {
    private int inputDim = DEFAULT_INPUT_DIM;
    private int hiddenDim = DEFAULT_HIDDEN_DIM;
    private int outputDim = DEFAULT_OUTPUT_DIM;
    private int layers = DEFAULT_LAYERS;
    private boolean batchNorm = true;
    private double bnEps = DEFAULT_BN_EPS;
    private double bnMomentum = DEFAULT_BN_MOMENTUM;
    private long seed = 0L;
    private String prefix = DEFAULT_PREFIX;

    private Builder() {}

    /** Width of the encoder's feature (768 for ViT-B). */
    public Builder inputDim(int inputDim) {
      this.inputDim = inputDim;
      return this;
    }

    /** Width of the hidden layers (the reference's {@code ssl_mlp_dim}, 4096). */
    public Builder hiddenDim(int hiddenDim) {
      this.hiddenDim = hiddenDim;
      return this;
    }

    /** Width of the embedding the loss sees (the reference's {@code ssl_emb_dim}, 256). */
    public Builder outputDim(int outputDim) {
      this.outputDim = outputDim;
      return this;
    }

    /** Number of Linear layers, at least 1; each but the last is followed by BN (if on) and ReLU. */
    public Builder layers(int layers) {
      this.layers = layers;
      return this;
    }

    public Builder batchNorm(boolean batchNorm) {
      this.batchNorm = batchNorm;
      return this;
    }

    /** Added to the variance before the square root, as torch's {@code eps}. */
    public Builder bnEps(double bnEps) {
      this.bnEps = bnEps;
      return this;
    }

    /** Weight of the new batch statistic in the running average, as torch's {@code momentum}. */
    public Builder bnMomentum(double bnMomentum) {
      this.bnMomentum = bnMomentum;
      return this;
    }

    /** Seed of the {@link Random} that draws the Linear layers' initial weights. */
    public Builder seed(long seed) {
      this.seed = seed;
      return this;
    }

    /** Prefix of the SameDiff variable names; two heads on one SameDiff need different ones. */
    public Builder variablePrefix(String prefix) {
      this.prefix = prefix;
      return this;
    }

    /**
     * @throws IllegalArgumentException naming the field, its allowed range and the value found
     */
    public ProjectionHead build() {
      checkArgument(inputDim >= 1, "inputDim: expected >= 1, found %s", inputDim);
      checkArgument(hiddenDim >= 1, "hiddenDim: expected >= 1, found %s", hiddenDim);
      checkArgument(outputDim >= 1, "outputDim: expected >= 1, found %s", outputDim);
      checkArgument(layers >= 1, "layers: expected >= 1, found %s", layers);
      checkArgument(
          Double.isFinite(bnEps) && bnEps > 0, "bnEps: expected a finite value > 0, found %s", bnEps);
      checkArgument(
          bnMomentum >= 0 && bnMomentum <= 1, "bnMomentum: expected a value in [0, 1], found %s", bnMomentum);
      checkArgument(prefix != null, "variablePrefix: expected a string (may be empty), found null");
      return new ProjectionHead(this);
    }
  }
}
