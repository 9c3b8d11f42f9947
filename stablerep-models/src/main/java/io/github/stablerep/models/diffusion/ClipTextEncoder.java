package io.github.stablerep.models.diffusion;

import static com.google.common.base.Preconditions.checkArgument;
import static io.github.stablerep.models.internal.GraphLayers.layerNorm;

import io.github.stablerep.models.WeightReport;
import io.github.stablerep.models.internal.Attention;
import io.github.stablerep.models.internal.GraphLayers;
import io.github.stablerep.models.internal.LayerParams;
import io.github.stablerep.models.internal.Mlp;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.nd4j.autodiff.samediff.SDIndex;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * CLIP's text transformer as a SameDiff graph, computing what transformers' {@code
 * CLIPTextModel} computes (inference, no attention mask other than the causal one, as diffusers
 * calls it for Stable Diffusion v1.x): Stable Diffusion's text encoder.
 *
 * <pre>
 *   h  = token_embedding[ids] + position_embedding[0:L]                 [N·L, D]
 *   h += out_proj(softmax(q·kᵀ/√d + causal) v)(LN1(h))     for each layer (pre-norm, heads of d = D/H)
 *   h += fc2(act(fc1(LN2(h))))                           act: QuickGELU x·σ(1.702x) or exact GELU
 *   last_hidden_state = LN_final(h)                                      [N, L, D]
 *   pooled = last_hidden_state at each row's end token                  [N, D]
 * </pre>
 *
 * <p>The end token is found as transformers does: with {@code eos_token_id} 2 (the legacy value
 * in SD v1.5's and openai's configs, which is not the real id) at the first position of the row's
 * largest id, since {@code <|endoftext|>} is CLIP's largest id; otherwise at the first position
 * of {@code eos_token_id} (position 0 when the row has none, as torch's argmax of all zeros).
 * LayerNorm is composed with its epsilon ({@code sd.nn.layerNorm} has none), and so is QuickGELU
 * (see {@code GraphLayers.quickGelu}).
 *
 * <p>Inference only: the token embedding is a gather, and ND4J's gather gradient does not
 * accumulate repeated indices (padding repeats the end token in every row), so the gradient of
 * the token-embedding table would be wrong. Stable Diffusion keeps this encoder frozen. The
 * other parameters' gradients are not affected, but are not tested either.
 *
 * <p>Fresh variables are initialised from {@code seed} as a plain stand-in (normal 0.02 weights,
 * zero biases, unit LayerNorm), not transformers' scheme: load real weights with {@link
 * #importWeights}.
 *
 * <pre>{@code
 * ClipTextEncoder enc = ClipTextEncoder.fromConfig(sdFolder.resolve("text_encoder/config.json"));
 * SDVariable ids = sd.placeHolder("input_ids", DataType.INT, -1, 77);
 * ClipTextEncoderGraph g = enc.define(sd, ids);
 * enc.importWeights(sd, SafeTensors.read(sdFolder.resolve("text_encoder/model.safetensors")));
 * }</pre>
 */
public final class ClipTextEncoder {

  private static final Logger LOG = LoggerFactory.getLogger(ClipTextEncoder.class);
  /** Sanity bounds on a config: width (and positions), and layers. */
  static final int MAX_WIDTH = 16384;
  static final int MAX_LAYERS = 256;
  private static final String PREFIX = "text_model.";
  private static final String POSITION_IDS = "text_model.embeddings.position_ids";

  /** The MLP's activation, transformers' {@code hidden_act}. */
  public enum Activation {
    /** {@code quick_gelu}: x·σ(1.702x), CLIP's and SD v1.x's. */
    QUICK_GELU,
    /** {@code gelu}: exact 0.5·x·(1 + erf(x/√2)), e.g. OpenCLIP ViT-H (SD 2.x). */
    GELU
  }

  private final int vocabSize;
  private final int hiddenSize;
  private final int intermediateSize;
  private final int layers;
  private final int heads;
  private final int maxPositions;
  private final Activation activation;
  private final double layerNormEps;
  private final int eosTokenId;
  private final String name;
  private final DataType dataType;
  private final long seed;

  private ClipTextEncoder(Builder b) {
    this.vocabSize = b.vocabSize;
    this.hiddenSize = b.hiddenSize;
    this.intermediateSize = b.intermediateSize;
    this.layers = b.layers;
    this.heads = b.heads;
    this.maxPositions = b.maxPositions;
    this.activation = b.activation;
    this.layerNormEps = b.layerNormEps;
    this.eosTokenId = b.eosTokenId;
    this.name = b.name;
    this.dataType = b.dataType;
    this.seed = b.seed;
  }

  /** Defaults are SD v1.5's text encoder (openai's CLIP ViT-L/14 text tower). */
  public static Builder builder() {
    return new Builder();
  }

  public Builder toBuilder() {
    return new Builder().vocabSize(vocabSize).hiddenSize(hiddenSize).intermediateSize(intermediateSize).layers(layers)
        .heads(heads).maxPositions(maxPositions).activation(activation).layerNormEps(layerNormEps)
        .eosTokenId(eosTokenId).name(name).dataType(dataType).seed(seed);
  }

  /**
   * From a transformers {@code CLIPTextConfig} file (diffusers' {@code text_encoder/config.json}):
   * {@code vocab_size, hidden_size, intermediate_size, num_hidden_layers, num_attention_heads,
   * max_position_embeddings, hidden_act, layer_norm_eps, eos_token_id}; absent keys take
   * transformers' defaults (those of openai's ViT-B/32 text tower: 49408, 512, 2048, 12, 8, 77,
   * quick_gelu, 1e-5, 2).
   */
  public static ClipTextEncoder fromConfig(Path configJson) {
    return fromConfig(DiffusersConfig.read(configJson));
  }

  /** As {@link #fromConfig(Path)}, from a parsed config. */
  public static ClipTextEncoder fromConfig(DiffusersConfig c) {
    checkArgument(c != null, "config: expected a text_encoder config, found null");
    String act = c.getString("hidden_act", "quick_gelu");
    Activation activation = switch (act) {
      case "quick_gelu" -> Activation.QUICK_GELU;
      case "gelu" -> Activation.GELU;
      default -> throw new IllegalArgumentException(
          "config " + c.source() + ": key 'hidden_act': expected quick_gelu or gelu, found '" + act + "'");
    };
    try {
      return builder()
          .vocabSize(c.getInt("vocab_size", 49408))
          .hiddenSize(c.getInt("hidden_size", 512))
          .intermediateSize(c.getInt("intermediate_size", 2048))
          .layers(c.getInt("num_hidden_layers", 12))
          .heads(c.getInt("num_attention_heads", 8))
          .maxPositions(c.getInt("max_position_embeddings", 77))
          .activation(activation)
          .layerNormEps(c.getDouble("layer_norm_eps", 1e-5))
          .eosTokenId(c.getInt("eos_token_id", 2))
          .build();
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException("config " + c.source() + ": " + e.getMessage(), e);
    }
  }

  public int vocabSize() { return vocabSize; }
  public int hiddenSize() { return hiddenSize; }
  public int intermediateSize() { return intermediateSize; }
  public int layers() { return layers; }
  public int heads() { return heads; }
  public int maxPositions() { return maxPositions; }
  public Activation activation() { return activation; }
  public double layerNormEps() { return layerNormEps; }
  /** transformers' {@code eos_token_id}; 2 selects the legacy largest-id pooling. */
  public int eosTokenId() { return eosTokenId; }
  public String name() { return name; }
  public DataType dataType() { return dataType; }
  public long seed() { return seed; }

  // ---------------------------------------------------------------- ids from outside

  /**
   * Checks that every id {@code tokenizer} can produce indexes this encoder's token embedding,
   * and that its rows fit the position embedding. The embedding lookup is a native gather that
   * does not check its indices: an id at or above {@link #vocabSize()} (a {@code vocab.json}
   * mapping a token to 10^9, say) reads outside the table and can crash the JVM. Call this
   * wherever a tokenizer and an encoder are paired; {@link StableDiffusionPipeline} does.
   *
   * @throws IllegalArgumentException naming the tokenizer's vocabulary file, the offending token
   *     and id, and this encoder's vocabulary size
   */
  public void checkTokenizer(ClipTokenizer tokenizer) {
    checkArgument(tokenizer != null, "tokenizer: expected a ClipTokenizer, found null");
    checkArgument(tokenizer.maxTokenId() < vocabSize,
        "%s: expected token ids < the text encoder's vocab_size %s, found id %s for token '%s'",
        tokenizer.source(), vocabSize, tokenizer.maxTokenId(), tokenizer.maxIdToken());
    checkArgument(tokenizer.padTokenId() < vocabSize,
        "%s: expected a pad token id < the text encoder's vocab_size %s, found %s",
        tokenizer.source(), vocabSize, tokenizer.padTokenId());
    checkArgument(tokenizer.contextLength() <= maxPositions,
        "%s: expected a context length <= the text encoder's %s positions, found %s",
        tokenizer.source(), maxPositions, tokenizer.contextLength());
  }

  /**
   * Checks token ids from any other source before they are fed to a graph of this encoder:
   * an integer [N, L] array, L at most {@link #maxPositions()}, every id in [0, {@link
   * #vocabSize()}), for the same reason as {@link #checkTokenizer}.
   *
   * @return {@code ids}, for chaining
   * @throws IllegalArgumentException naming the first id out of range and its position
   */
  public INDArray checkTokenIds(INDArray ids) {
    checkArgument(ids != null && ids.rank() == 2 && ids.dataType().isIntType() && ids.size(1) <= maxPositions,
        "tokenIds: expected an integer array [N, L] with L <= %s, found %s", maxPositions,
        ids == null ? "null" : ids.dataType() + " " + Arrays.toString(ids.shape()));
    long[] flat = ids.dup('c').data().asLong();
    for (int i = 0; i < flat.length; i++) {
      if (flat[i] < 0 || flat[i] >= vocabSize) {
        throw new IllegalArgumentException(String.format(
            "tokenIds: expected ids in [0, %d) (the text encoder's vocab_size), found %d at row %d, position %d",
            vocabSize, flat[i], i / ids.size(1), i % ids.size(1)));
      }
    }
    return ids;
  }

  // ---------------------------------------------------------------- parameters

  /** One parameter: its transformers key, its shape here, and whether it is a transposed Linear weight. */
  record Param(String key, long[] shape, boolean linear) {
    long[] torchShape() {
      return linear ? new long[] {shape[1], shape[0]} : shape.clone();
    }
  }

  /** Every parameter in transformers' state-dict order (position_ids, a buffer, excluded). */
  List<Param> parameters() {
    long d = hiddenSize;
    long f = intermediateSize;
    List<Param> ps = new ArrayList<>();
    ps.add(new Param(PREFIX + "embeddings.token_embedding.weight", new long[] {vocabSize, d}, false));
    ps.add(new Param(PREFIX + "embeddings.position_embedding.weight", new long[] {maxPositions, d}, false));
    for (int i = 0; i < layers; i++) {
      String b = PREFIX + "encoder.layers." + i + ".";
      for (String proj : new String[] {"k_proj", "v_proj", "q_proj", "out_proj"}) {
        ps.add(new Param(b + "self_attn." + proj + ".weight", new long[] {d, d}, true));
        ps.add(new Param(b + "self_attn." + proj + ".bias", new long[] {d}, false));
      }
      ps.add(new Param(b + "layer_norm1.weight", new long[] {d}, false));
      ps.add(new Param(b + "layer_norm1.bias", new long[] {d}, false));
      ps.add(new Param(b + "mlp.fc1.weight", new long[] {d, f}, true));
      ps.add(new Param(b + "mlp.fc1.bias", new long[] {f}, false));
      ps.add(new Param(b + "mlp.fc2.weight", new long[] {f, d}, true));
      ps.add(new Param(b + "mlp.fc2.bias", new long[] {d}, false));
      ps.add(new Param(b + "layer_norm2.weight", new long[] {d}, false));
      ps.add(new Param(b + "layer_norm2.bias", new long[] {d}, false));
    }
    ps.add(new Param(PREFIX + "final_layer_norm.weight", new long[] {d}, false));
    ps.add(new Param(PREFIX + "final_layer_norm.bias", new long[] {d}, false));
    return ps;
  }

  /** The graph variable holding a parameter: the encoder's name, a dot, the key without "text_model.". */
  String variableName(Param p) {
    return name + "." + p.key().substring(PREFIX.length());
  }

  /** The number of parameters (123.06 M for SD v1.5's encoder). */
  public long parameterCount() {
    return parameters().stream().mapToLong(p -> Arrays.stream(p.shape()).reduce(1, (a, b) -> a * b)).sum();
  }

  private INDArray initialValue(Param p, Random rng) {
    int n = (int) Arrays.stream(p.shape()).reduce(1, (a, b) -> a * b);
    boolean ones = p.key().contains("norm") && p.key().endsWith(".weight");
    boolean zeros = p.key().endsWith(".bias");
    if (dataType == DataType.FLOAT) {  // float[] halves the transient heap of the 38M-entry token table
      float[] v = new float[n];
      for (int i = 0; i < n; i++) {
        v[i] = ones ? 1f : zeros ? 0f : (float) (0.02 * rng.nextGaussian());
      }
      return Nd4j.createFromArray(v).reshape(p.shape());
    }
    double[] v = new double[n];
    for (int i = 0; i < n; i++) {
      v[i] = ones ? 1.0 : zeros ? 0.0 : 0.02 * rng.nextGaussian();
    }
    return Nd4j.createFromArray(v).reshape(p.shape());
  }

  // ---------------------------------------------------------------- graph

  /**
   * Adds the encoder to {@code sd} with freshly initialised variables named {@code name() + "."
   * + key} (e.g. {@code text_encoder.encoder.layers.0.self_attn.q_proj.weight}).
   *
   * @param tokenIds [N, L] INT or LONG ids, L ≤ {@link #maxPositions()}; when L is not static,
   *     {@link #maxPositions()} is assumed
   * @throws IllegalArgumentException if the ids' static shape or type is wrong, or {@code sd}
   *     already holds variables of this name
   */
  public ClipTextEncoderGraph define(SameDiff sd, SDVariable tokenIds) {
    Random rng = new Random(seed);
    return define(sd, tokenIds, p -> initialValue(p, rng));
  }

  /**
   * Adds the encoder to {@code sd} with its variables taken from a transformers state dict, as
   * {@link #define(SameDiff, SDVariable)} followed by {@link #importWeights}, but without first
   * drawing a random stand-in for every parameter (123 M normal draws for SD v1.5's encoder,
   * seconds of work that the import would overwrite; benchmarks/README.md, "Figures behind library comments").
   *
   * @throws IllegalArgumentException as {@link #importWeights} does, before anything is added
   */
  public ClipTextEncoderGraph define(SameDiff sd, SDVariable tokenIds, Map<String, INDArray> weights) {
    checkWeights(weights);
    return define(sd, tokenIds, p -> {
      INDArray src = weights.get(p.key()).castTo(dataType);
      return (p.linear() ? src.transpose() : src).dup('c');
    });
  }

  private ClipTextEncoderGraph define(SameDiff sd, SDVariable tokenIds, java.util.function.Function<Param, INDArray> init) {
    checkArgument(sd != null, "sd: expected a SameDiff instance, found null");
    checkArgument(tokenIds != null, "tokenIds: expected a variable [N, L] of token ids, found null");
    checkArgument(tokenIds.dataType().isIntType(),
        "tokenIds: expected an integer type (INT or LONG), found %s", tokenIds.dataType());
    long[] shape = tokenIds.getShape();
    int seq = maxPositions;
    if (shape != null) {
      checkArgument(shape.length == 2, "tokenIds: expected shape [N, L], found %s", Arrays.toString(shape));
      if (shape[1] > 0) {
        checkArgument(shape[1] <= maxPositions,
            "tokenIds: expected at most maxPositions = %s tokens per row, found %s", maxPositions, shape[1]);
        seq = (int) shape[1];
      }
    }
    Map<String, SDVariable> v = new LinkedHashMap<>();
    List<String> names = new ArrayList<>();
    for (Param p : parameters()) {
      String varName = variableName(p);
      checkArgument(!sd.hasVariable(varName),
          "name: expected a prefix not yet used in sd, found variable '%s' already defined", varName);
      v.put(p.key(), sd.var(varName, init.apply(p)));
      names.add(varName);
    }
    int d = hiddenSize;
    String e = PREFIX + "embeddings.";
    // inference only: gather's gradient drops repeated indices (see the class comment)
    SDVariable tokens = sd.gather(v.get(e + "token_embedding.weight"), tokenIds, 0);                 // [N, L, D]
    SDVariable positions = v.get(e + "position_embedding.weight").get(SDIndex.interval(0, seq), SDIndex.all());
    SDVariable h = sd.reshape(tokens.add(positions), -1, d);

    SDVariable mask = Attention.causalMask(sd, name + "_causal_mask", seq, dataType);
    LayerParams params = LayerParams.of(sd, v);
    Attention attention = Attention.clip(d, heads).tokens(seq).build();
    Mlp mlp = Mlp.timm(d, intermediateSize,
        activation == Activation.QUICK_GELU ? Mlp.Activation.QUICK_GELU : Mlp.Activation.GELU);
    for (int i = 0; i < layers; i++) {
      String b = PREFIX + "encoder.layers." + i + ".";
      SDVariable n1 = layerNorm(sd, h, v.get(b + "layer_norm1.weight"), v.get(b + "layer_norm1.bias"), layerNormEps);
      h = h.add(attention.apply(params, b + "self_attn", n1, null, mask, null, null));
      SDVariable n2 = layerNorm(sd, h, v.get(b + "layer_norm2.weight"), v.get(b + "layer_norm2.bias"), layerNormEps);
      h = h.add(mlp.apply(params, b + "mlp", n2));
    }
    h = layerNorm(sd, h, v.get(PREFIX + "final_layer_norm.weight"), v.get(PREFIX + "final_layer_norm.bias"), layerNormEps);
    SDVariable last = sd.reshape(name + "_last_hidden_state", h, -1, seq, d);
    SDVariable pooled = pool(sd, last, tokenIds, seq);
    return new ClipTextEncoderGraph(tokenIds, last, pooled, names);
  }

  /**
   * The row of {@code last} at each sequence's end token, selected by a one-hot mask built from
   * the ids (first occurrence via a cumulative sum), so no argmax tie-breaking rule is relied on.
   */
  private SDVariable pool(SameDiff sd, SDVariable last, SDVariable tokenIds, int seq) {
    SDVariable ids = tokenIds.castTo(dataType);                             // ids < 2^24: exact in float
    SDVariable hits = eosTokenId == 2
        ? ids.eq(ids.max(true, 1)).castTo(dataType)                          // legacy: the largest id
        : ids.eq(eosTokenId).castTo(dataType);
    SDVariable firstHit = hits.mul(sd.cumsum(hits, false, false, 1).eq(1.0).castTo(dataType));
    // a row without any hit points at position 0, as torch's argmax of all zeros
    double[] onehot0 = new double[seq];
    onehot0[0] = 1;
    SDVariable none = firstHit.sum(true, 1).rsub(1.0);                      // [N, 1]: 1 if no hit
    SDVariable select = firstHit.add(none.mul(sd.constant(Nd4j.createFromArray(onehot0).castTo(dataType).reshape(1, seq))));
    return last.mul(sd.reshape(select, -1, seq, 1)).sum(name + "_pooled", false, 1);
  }

  // ---------------------------------------------------------------- weights

  /**
   * Copies a transformers state dict ({@code CLIPTextModel}'s keys, e.g. from diffusers' {@code
   * text_encoder/model.safetensors}) into this encoder's variables in {@code sd}, after {@link
   * #define}. Linear weights are transposed; F16, BF16 and F64 tensors are cast to {@link
   * #dataType()}. Keys this encoder does not use (for instance a full CLIP checkpoint's {@code
   * vision_model.*}) are unexpected: reported, not fatal (logged at WARN); {@code position_ids},
   * a buffer that older checkpoints store and newer ones do not, is ignored. See {@link
   * WeightReport} for the rule all imports follow.
   *
   * @throws IllegalArgumentException listing every missing and every mis-shaped (or
   *     non-floating-point) key with expected and found shapes, and the unexpected keys; nothing
   *     is changed then
   * @throws IllegalStateException if {@code sd} lacks this encoder's variables
   */
  public WeightReport importWeights(SameDiff sd, Map<String, INDArray> weights) {
    checkArgument(sd != null, "sd: expected a SameDiff instance, found null");
    WeightReport report = checkWeights(weights);
    List<Param> params = parameters();
    List<INDArray> targets = new ArrayList<>();
    for (Param p : params) {
      targets.add(variableArray(sd, p));
    }
    for (int i = 0; i < params.size(); i++) {
      Param p = params.get(i);
      INDArray target = targets.get(i);
      INDArray src = weights.get(p.key()).castTo(target.dataType());
      target.assign(p.linear() ? src.transpose() : src);
    }
    return report;
  }

  /** The report of importing {@code weights}; throws it unless complete, logs unexpected keys. */
  private WeightReport checkWeights(Map<String, INDArray> weights) {
    checkArgument(weights != null, "weights: expected a map of tensors, found null");
    WeightReport.Builder r = WeightReport.builder("for " + name);
    List<Param> params = parameters();
    for (Param p : params) {
      INDArray a = weights.get(p.key());
      if (a == null) {
        r.missing(p.key(), p.torchShape());
      } else if (!WeightReport.fits(p.torchShape(), a)) {
        r.mismatched(p.key(), p.torchShape(), a);
      } else {
        r.loaded(p.key());
      }
    }
    // one set of keys: rebuilding parameters() per weight key made this quadratic
    java.util.Set<String> known = new java.util.HashSet<>();
    params.forEach(p -> known.add(p.key()));
    for (String k : weights.keySet()) {
      if (k.equals(POSITION_IDS)) {
        r.ignored(k);
      } else if (!known.contains(k)) {
        r.unexpected(k);
      }
    }
    WeightReport report = r.build().requireComplete();
    if (!report.unexpected().isEmpty()) {
      LOG.warn("{}", report);
    }
    return report;
  }

  /** This encoder's variables as a transformers state dict (fresh C-order arrays, the variables' type). */
  public Map<String, INDArray> exportWeights(SameDiff sd) {
    checkArgument(sd != null, "sd: expected a SameDiff instance, found null");
    Map<String, INDArray> out = new LinkedHashMap<>();
    for (Param p : parameters()) {
      INDArray a = variableArray(sd, p);
      out.put(p.key(), (p.linear() ? a.transpose() : a).dup('c'));
    }
    return out;
  }

  private INDArray variableArray(SameDiff sd, Param p) {
    String varName = variableName(p);
    SDVariable var = sd.hasVariable(varName) ? sd.getVariable(varName) : null;
    INDArray a = var == null ? null : var.getArr();
    if (a == null || !Arrays.equals(a.shape(), p.shape())) {
      throw new IllegalStateException("sd: expected variable '" + varName + "' of shape " + Arrays.toString(p.shape())
          + " defined by this encoder's define(), found " + (a == null ? "none" : Arrays.toString(a.shape())));
    }
    return a;
  }

  @Override
  public String toString() {
    return "ClipTextEncoder{vocab=" + vocabSize + ", hidden=" + hiddenSize + ", intermediate=" + intermediateSize
        + ", layers=" + layers + ", heads=" + heads + ", positions=" + maxPositions + ", activation=" + activation
        + ", layerNormEps=" + layerNormEps + ", eosTokenId=" + eosTokenId + ", name=" + name + ", dataType=" + dataType + "}";
  }

  /** Defaults: SD v1.5's text encoder (49408 tokens, 768 wide, 3072 MLP, 12 layers, 12 heads, 77 positions, QuickGELU, eps 1e-5). */
  public static final class Builder {
    private int vocabSize = 49408;
    private int hiddenSize = 768;
    private int intermediateSize = 3072;
    private int layers = 12;
    private int heads = 12;
    private int maxPositions = 77;
    private Activation activation = Activation.QUICK_GELU;
    private double layerNormEps = 1e-5;
    private int eosTokenId = 2;
    private String name = "text_encoder";
    private DataType dataType = DataType.FLOAT;
    private long seed = 0;

    private Builder() {}

    public Builder vocabSize(int vocabSize) { this.vocabSize = vocabSize; return this; }
    public Builder hiddenSize(int hiddenSize) { this.hiddenSize = hiddenSize; return this; }
    public Builder intermediateSize(int intermediateSize) { this.intermediateSize = intermediateSize; return this; }
    public Builder layers(int layers) { this.layers = layers; return this; }
    public Builder heads(int heads) { this.heads = heads; return this; }
    public Builder maxPositions(int maxPositions) { this.maxPositions = maxPositions; return this; }
    public Builder activation(Activation activation) { this.activation = activation; return this; }
    public Builder layerNormEps(double layerNormEps) { this.layerNormEps = layerNormEps; return this; }
    /** transformers' {@code eos_token_id}: 2 (legacy) pools at the largest id, anything else at that id. */
    public Builder eosTokenId(int eosTokenId) { this.eosTokenId = eosTokenId; return this; }
    /** The prefix of the variables' names, so that two encoders can share a graph. */
    public Builder name(String name) { this.name = name; return this; }
    /** FLOAT (default) or DOUBLE (for checks). */
    public Builder dataType(DataType dataType) { this.dataType = dataType; return this; }
    public Builder seed(long seed) { this.seed = seed; return this; }

    public ClipTextEncoder build() {
      checkArgument(vocabSize >= 1 && vocabSize <= (1 << 24),
          "vocabSize: expected a value in [1, 2^24] (ids are compared in float), found %s", vocabSize);
      // upper bounds far above any CLIP text tower (OpenCLIP bigG: 1280 wide, 32 layers), so a
      // hostile config.json fails before a parameter list is built (100 000 layers took 10.7 GB)
      checkArgument(hiddenSize >= 1 && hiddenSize <= MAX_WIDTH, "hiddenSize: expected a value in [1, %s], found %s",
          MAX_WIDTH, hiddenSize);
      checkArgument(intermediateSize >= 1 && intermediateSize <= 4 * MAX_WIDTH,
          "intermediateSize: expected a value in [1, %s], found %s", 4 * MAX_WIDTH, intermediateSize);
      checkArgument(layers >= 1 && layers <= MAX_LAYERS, "layers: expected a value in [1, %s], found %s", MAX_LAYERS,
          layers);
      checkArgument(heads >= 1 && hiddenSize % heads == 0,
          "heads: expected >= 1 and dividing hiddenSize %s, found %s", hiddenSize, heads);
      checkArgument(maxPositions >= 1 && maxPositions <= MAX_WIDTH,
          "maxPositions: expected a value in [1, %s], found %s", MAX_WIDTH, maxPositions);
      checkArgument(activation != null, "activation: expected one of %s, found null", Arrays.toString(Activation.values()));
      checkArgument(Double.isFinite(layerNormEps) && layerNormEps > 0,
          "layerNormEps: expected a finite value > 0 (CLIP uses 1e-5), found %s", layerNormEps);
      checkArgument(eosTokenId >= 0, "eosTokenId: expected >= 0, found %s", eosTokenId);
      checkArgument(name != null && !name.isEmpty(), "name: expected a non-empty prefix, found '%s'", name);
      checkArgument(dataType == DataType.FLOAT || dataType == DataType.DOUBLE,
          "dataType: expected FLOAT or DOUBLE, found %s", dataType);
      return new ClipTextEncoder(this);
    }
  }
}
