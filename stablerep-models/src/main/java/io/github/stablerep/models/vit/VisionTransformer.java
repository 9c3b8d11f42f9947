package io.github.stablerep.models.vit;

import static com.google.common.base.Preconditions.checkArgument;
import static io.github.stablerep.models.internal.GraphLayers.layerNorm;

import io.github.stablerep.core.io.StrictJson;
import io.github.stablerep.models.WeightReport;
import io.github.stablerep.models.internal.Attention;
import io.github.stablerep.models.internal.DropPath;
import io.github.stablerep.models.internal.LayerParams;
import io.github.stablerep.models.internal.Mlp;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Random;
import java.util.Set;
import java.util.function.UnaryOperator;
import org.nd4j.autodiff.samediff.SDIndex;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.api.ops.impl.layers.convolution.config.Conv2DConfig;
import org.nd4j.linalg.api.ops.impl.layers.convolution.config.PaddingMode;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The Vision Transformer (Dosovitskiy et al., 2021) as a SameDiff graph, computing what timm's
 * {@code VisionTransformer} computes with {@code global_pool='token'}: StableRep's encoder.
 * Stochastic depth (timm's {@code drop_path_rate}) and dropout ({@code drop_rate}, {@code
 * attn_drop_rate}) are applied in training graphs only, see {@link #define(SameDiff,
 * SDVariable, boolean)}.
 *
 * <pre>
 *   x  = [cls; conv_p×p,stride p(images) flattened] + pos        [N, T, D], T = 1 + (H/p)(W/p)
 *   x += Attn(LN1(x))        for each of depth blocks (pre-norm)
 *   x += MLP(LN2(x))         MLP = fc2(GELU(fc1(·))), hidden = mlpRatio·D
 *   tokens = LN(x);  feature = tokens[:, 0]
 * </pre>
 *
 * <p>Two ND4J ops are deliberately not used (docs/ARCHITECTURE.md, "ND4J pitfalls"): {@code sd.nn.gelu} is the sigmoid
 * approximation, so GELU is composed as 0.5·x·(1 + erf(x/√2)); {@code sd.nn.layerNorm} has no
 * epsilon, so LayerNorm is composed from mean and variance with {@code layerNormEps}. Linear
 * layers run on the residual stream kept as a matrix [N·T, D], because {@code sd.mmul} needs
 * equal ranks; only attention reshapes to heads.
 *
 * <p>Initialisation follows timm's {@code init_weights_vit_timm}, seeded by {@code seed} through
 * {@link java.util.Random}: Linear weights and the position embedding truncated-normal with std
 * 0.02 (cut at ±2, as timm's {@code trunc_normal_}), biases zero, LayerNorm weights one, the
 * class token normal with std 1e-6, and the patch convolution with PyTorch's default
 * (uniform ±1/√fan_in for weight and bias).
 *
 * <pre>{@code
 * VisionTransformer vit = VisionTransformer.builder().preset(VitPreset.B_16).imageSize(224).build();
 * SDVariable images = sd.placeHolder("images", DataType.FLOAT, -1, 3, 224, 224);
 * VitGraph g = vit.define(sd, images);
 * vit.importWeights(sd, SafeTensors.read(path), WeightLayout.TIMM);
 * }</pre>
 *
 * <p>Weights trained at another resolution are imported with their position embedding
 * resampled bicubically ({@link #resamplePositionEmbedding}).
 */
public final class VisionTransformer {

  /** timm's LayerNorm epsilon for ViTs. */
  public static final double DEFAULT_LAYER_NORM_EPS = 1e-6;
  /** The image size of every preset. */
  public static final int DEFAULT_IMAGE_SIZE = 224;

  private final VitPreset preset;
  private final Integer patchSizeOverride;
  private final Integer widthOverride;
  private final Integer depthOverride;
  private final Integer headsOverride;
  private final Double mlpRatioOverride;
  private final int imageHeight;
  private final int imageWidth;
  private final int patchSize;
  private final int width;
  private final int depth;
  private final int heads;
  private final double mlpRatio;
  private final int mlpDim;
  private final boolean qkvBias;
  private final double layerNormEps;
  private final Pooling pooling;
  private final double dropPathRate;
  private final double dropout;
  private final double attentionDropout;
  private final long seed;
  private final String name;
  private final DataType dataType;

  private VisionTransformer(Builder b) {
    this.preset = b.preset;
    this.patchSizeOverride = b.patchSize;
    this.widthOverride = b.width;
    this.depthOverride = b.depth;
    this.headsOverride = b.heads;
    this.mlpRatioOverride = b.mlpRatio;
    this.imageHeight = b.imageHeight;
    this.imageWidth = b.imageWidth;
    this.patchSize = b.patchSize != null ? b.patchSize : preset.patchSize();
    this.width = b.width != null ? b.width : preset.width();
    this.depth = b.depth != null ? b.depth : preset.depth();
    this.heads = b.heads != null ? b.heads : preset.heads();
    this.mlpRatio = b.mlpRatio != null ? b.mlpRatio : preset.mlpRatio();
    this.mlpDim = (int) Math.round(width * mlpRatio);
    this.qkvBias = b.qkvBias;
    this.layerNormEps = b.layerNormEps;
    this.pooling = b.pooling;
    this.dropPathRate = b.dropPathRate;
    this.dropout = b.dropout;
    this.attentionDropout = b.attentionDropout;
    this.seed = b.seed;
    this.name = b.name;
    this.dataType = b.dataType;
  }

  public static Builder builder() {
    return new Builder();
  }

  /** A builder holding this model's settings; fields set explicitly stay explicit. */
  public Builder toBuilder() {
    Builder b = new Builder().preset(preset).imageSize(imageHeight, imageWidth).qkvBias(qkvBias)
        .layerNormEps(layerNormEps).pooling(pooling).dropPathRate(dropPathRate)
        .dropout(dropout).attentionDropout(attentionDropout).seed(seed).name(name).dataType(dataType);
    b.patchSize = patchSizeOverride;
    b.width = widthOverride;
    b.depth = depthOverride;
    b.heads = headsOverride;
    b.mlpRatio = mlpRatioOverride;
    return b;
  }

  public VitPreset preset() { return preset; }
  public int imageHeight() { return imageHeight; }
  public int imageWidth() { return imageWidth; }
  public int patchSize() { return patchSize; }
  public int width() { return width; }
  public int depth() { return depth; }
  public int heads() { return heads; }
  public double mlpRatio() { return mlpRatio; }
  /** The MLP's hidden width, round(width · mlpRatio). */
  public int mlpDim() { return mlpDim; }
  public boolean qkvBias() { return qkvBias; }
  public double layerNormEps() { return layerNormEps; }
  public Pooling pooling() { return pooling; }
  /** The stochastic-depth rate of the last block; see {@link #blockDropPathRate(int)}. */
  public double dropPathRate() { return dropPathRate; }
  /** timm's {@code drop_rate}: dropout after the position embedding, the attention projection and both MLP layers. */
  public double dropout() { return dropout; }
  /** timm's {@code attn_drop_rate}: dropout on the attention probabilities. */
  public double attentionDropout() { return attentionDropout; }

  /**
   * Block {@code block}'s drop-path rate: as timm's {@code torch.linspace(0, drop_path_rate,
   * depth)}, linearly spaced from 0 for the first block to {@link #dropPathRate()} for the last
   * (computed in double; timm's linspace is float32, a difference below 1e-7).
   */
  public double blockDropPathRate(int block) {
    checkArgument(block >= 0 && block < depth, "block: expected a value in [0, %s), found %s", depth, block);
    return depth == 1 ? 0.0 : dropPathRate * block / (depth - 1);
  }
  public long seed() { return seed; }
  /** The prefix of this model's variable names in a graph. */
  public String name() { return name; }
  public DataType dataType() { return dataType; }

  /** Patches per image, (H/p)·(W/p). */
  public int patchCount() {
    return (imageHeight / patchSize) * (imageWidth / patchSize);
  }

  /** Tokens per image: the class token and the patches. */
  public int tokenCount() {
    return 1 + patchCount();
  }

  // ---------------------------------------------------------------- parameters

  /** How a parameter's array relates to PyTorch's layout of it. */
  enum Kind {
    /** Same layout. */
    PLAIN,
    /** Ours [in, out], PyTorch's Linear [out, in]. */
    LINEAR,
    /** Ours YXIO [kH, kW, in, out] (the only layout conv2d trains with), PyTorch's [out, in, kH, kW]. */
    CONV
  }

  /** How a parameter is initialised (timm's scheme). */
  enum Init {
    TRUNC_NORMAL_002, ZEROS, ONES, CLS_TOKEN, CONV_DEFAULT
  }

  /** One trainable parameter: its timm-style name (without the model prefix) and its shape here. */
  record Param(String key, long[] shape, Kind kind, Init init) {}

  /** Every parameter, in timm's state-dict order. */
  List<Param> parameters() {
    List<Param> ps = new ArrayList<>();
    ps.add(new Param("cls_token", new long[] {1, 1, width}, Kind.PLAIN, Init.CLS_TOKEN));
    ps.add(new Param("pos_embed", new long[] {1, tokenCount(), width}, Kind.PLAIN, Init.TRUNC_NORMAL_002));
    ps.add(new Param("patch_embed.proj.weight", new long[] {patchSize, patchSize, 3, width}, Kind.CONV, Init.CONV_DEFAULT));
    ps.add(new Param("patch_embed.proj.bias", new long[] {width}, Kind.PLAIN, Init.CONV_DEFAULT));
    for (int i = 0; i < depth; i++) {
      String b = "blocks." + i + ".";
      ps.add(new Param(b + "norm1.weight", new long[] {width}, Kind.PLAIN, Init.ONES));
      ps.add(new Param(b + "norm1.bias", new long[] {width}, Kind.PLAIN, Init.ZEROS));
      ps.add(new Param(b + "attn.qkv.weight", new long[] {width, 3L * width}, Kind.LINEAR, Init.TRUNC_NORMAL_002));
      if (qkvBias) {
        ps.add(new Param(b + "attn.qkv.bias", new long[] {3L * width}, Kind.PLAIN, Init.ZEROS));
      }
      ps.add(new Param(b + "attn.proj.weight", new long[] {width, width}, Kind.LINEAR, Init.TRUNC_NORMAL_002));
      ps.add(new Param(b + "attn.proj.bias", new long[] {width}, Kind.PLAIN, Init.ZEROS));
      ps.add(new Param(b + "norm2.weight", new long[] {width}, Kind.PLAIN, Init.ONES));
      ps.add(new Param(b + "norm2.bias", new long[] {width}, Kind.PLAIN, Init.ZEROS));
      ps.add(new Param(b + "mlp.fc1.weight", new long[] {width, mlpDim}, Kind.LINEAR, Init.TRUNC_NORMAL_002));
      ps.add(new Param(b + "mlp.fc1.bias", new long[] {mlpDim}, Kind.PLAIN, Init.ZEROS));
      ps.add(new Param(b + "mlp.fc2.weight", new long[] {mlpDim, width}, Kind.LINEAR, Init.TRUNC_NORMAL_002));
      ps.add(new Param(b + "mlp.fc2.bias", new long[] {width}, Kind.PLAIN, Init.ZEROS));
    }
    ps.add(new Param("norm.weight", new long[] {width}, Kind.PLAIN, Init.ONES));
    ps.add(new Param("norm.bias", new long[] {width}, Kind.PLAIN, Init.ZEROS));
    return ps;
  }

  String variableName(Param p) {
    return name + "." + p.key();
  }

  private INDArray initialValue(Param p, Random rng) {
    int n = (int) Arrays.stream(p.shape()).reduce(1, (a, b) -> a * b);
    double[] v = new double[n];
    double convBound = 1.0 / Math.sqrt(3.0 * patchSize * patchSize);
    for (int i = 0; i < n; i++) {
      v[i] = switch (p.init()) {
        case ZEROS -> 0.0;
        case ONES -> 1.0;
        case CLS_TOKEN -> 1e-6 * rng.nextGaussian();
        case CONV_DEFAULT -> convBound * (2 * rng.nextDouble() - 1);
        case TRUNC_NORMAL_002 -> truncatedNormal(rng, 0.02, 2.0);
      };
    }
    return Nd4j.createFromArray(v).reshape(p.shape()).castTo(dataType);
  }

  /** timm's trunc_normal_(std, a=-limit, b=limit): the cut is absolute, not in units of std. */
  private static double truncatedNormal(Random rng, double std, double limit) {
    while (true) {
      double x = std * rng.nextGaussian();
      if (Math.abs(x) <= limit) {
        return x;
      }
    }
  }

  // ---------------------------------------------------------------- graph

  /**
   * Adds the model to {@code sd} as an inference graph (no drop path whatever {@link
   * #dropPathRate()}), with freshly initialised variables named {@code name() + "." + timm key}
   * (e.g. {@code vit.blocks.0.attn.qkv.weight}). The same as {@code define(sd, images, false)}.
   *
   * @param images [N, 3, H, W] with H, W the configured image size; cast to {@link #dataType()}
   * @throws IllegalArgumentException if {@code sd} already holds this model's variables or the
   *     images' static shape disagrees with the configuration
   */
  public VitGraph define(SameDiff sd, SDVariable images) {
    return define(sd, images, false);
  }

  /**
   * Adds the model to {@code sd}, for training or for inference.
   *
   * <p>A SameDiff graph has no train/eval switch, so the choice is made here, when the graph is
   * built: define a training graph and an inference graph (in two SameDiff instances, moving
   * weights with {@link #exportWeights}/{@link #importWeights} or {@code sd.save}) rather than
   * feeding a flag. Without {@code training}, or with every rate 0, the graph is op for op the
   * inference graph.
   *
   * <p>With {@code training} and a block rate r &gt; 0 ({@link #blockDropPathRate}), each of
   * that block's two residual branches is multiplied by a per-sample mask, as timm's {@code
   * drop_path(scale_by_keep=True)}: Bernoulli(1 − r) divided by 1 − r, so a dropped sample's
   * branch adds exactly zero and the expectation is unchanged. The masks are listed in {@link
   * VitGraph#dropPathMasks()}. With {@code training} and {@link #dropout()} or {@link
   * #attentionDropout()} &gt; 0, timm's elementwise dropout sites get the same kind of mask, one
   * Bernoulli draw per element (sites named {@code name_pos_drop}, {@code
   * name_blocks.i.attn_drop}, {@code .attn.proj_drop}, {@code .mlp.drop1}, {@code .mlp.drop2}).
   *
   * <p>All Bernoulli draws come from placeholders of uniform noise that the caller feeds with
   * each batch, made by {@link VitGraph#noiseFeed(int, long)} from a seed (e.g. the step):
   * ND4J's in-graph random ops are unusable here, as M2.1 repeats the same values at every
   * execution and ignores {@code Nd4j.getRandom().setSeed}; a seeded feed also makes a resumed
   * run draw the same masks.
   *
   * @throws IllegalArgumentException as {@link #define(SameDiff, SDVariable)}
   */
  public VitGraph define(SameDiff sd, SDVariable images, boolean training) {
    checkArgument(sd != null, "sd: expected a SameDiff instance, found null");
    checkArgument(images != null, "images: expected a variable [N, 3, H, W], found null");
    long[] shape = images.getShape();
    if (shape != null) {
      checkArgument(
          shape.length == 4 && shape[1] == 3 && shape[2] == imageHeight && shape[3] == imageWidth,
          "images: expected shape [N, 3, %s, %s], found %s", imageHeight, imageWidth, Arrays.toString(shape));
    }
    Random rng = new Random(seed);
    Map<String, SDVariable> v = new LinkedHashMap<>();
    for (Param p : parameters()) {
      String varName = variableName(p);
      checkArgument(
          !sd.hasVariable(varName),
          "name: expected a prefix not yet used in sd, found variable '%s' already defined", varName);
      v.put(p.key(), sd.var(varName, initialValue(p, rng)));
    }
    SDVariable x = images.dataType() == dataType ? images : images.castTo(dataType);
    int t = tokenCount();

    // patch embedding: a p×p convolution with stride p, flattened row-major like timm's flatten(2)
    Conv2DConfig conv = Conv2DConfig.builder().kH(patchSize).kW(patchSize).sH(patchSize).sW(patchSize)
        .pH(0).pW(0).dH(1).dW(1).paddingMode(PaddingMode.VALID).dataFormat(Conv2DConfig.NCHW).build();
    SDVariable patches = sd.cnn.conv2d(x, v.get("patch_embed.proj.weight"), v.get("patch_embed.proj.bias"), conv);
    SDVariable seq = sd.permute(sd.reshape(patches, -1, width, patchCount()), 0, 2, 1);
    // the class token broadcast to the batch: zeros shaped like one token per image, plus the
    // token (a tile would need the batch size as a graph-computed shape)
    SDVariable oneToken = seq.get(SDIndex.all(), SDIndex.interval(0, 1), SDIndex.all());
    SDVariable cls = sd.zerosLike(oneToken).add(v.get("cls_token"));
    SDVariable h = sd.concat(1, cls, seq).add(v.get("pos_embed"));
    h = sd.reshape(h, -1, width);  // the residual stream as [N·T, D]

    List<SDVariable> masks = new ArrayList<>();
    TrainingNoise noise = new TrainingNoise();
    int branches = 0;
    for (int i = 0; i < depth; i++) {
      branches += training && blockDropPathRate(i) > 0 ? 2 : 0;
    }
    // registered first, so a graph's drop-path draws do not depend on whether dropout is on
    SDVariable pathNoise = branches == 0 ? null : noise.uniform(sd, name + "_drop_path_noise", dataType, 1, branches);
    Dropout drop = new Dropout(sd, noise, training ? dropout : 0.0);
    Dropout attnDrop = new Dropout(sd, noise, training ? attentionDropout : 0.0);
    h = drop.apply(h, "pos_drop", t, width);
    LayerParams params = LayerParams.of(sd, v);
    Attention attention = Attention.timm(width, heads).qkvBias(qkvBias).tokens(t).build();
    Mlp mlp = Mlp.timm(width, mlpDim, Mlp.Activation.GELU);
    for (int i = 0; i < depth; i++) {
      String b = "blocks." + i + ".";
      double rate = training ? blockDropPathRate(i) : 0.0;
      SDVariable normed1 = layerNorm(sd, h, v.get(b + "norm1.weight"), v.get(b + "norm1.bias"), layerNormEps);
      SDVariable attn = attention.apply(params, b + "attn", normed1, null, null,
          attnDrop.at(b + "attn_drop", 1, heads, t, t), drop.at(b + "attn.proj_drop", t, width));
      h = h.add(dropPath(sd, attn, pathNoise, rate, t, b + "drop_path1", masks));
      SDVariable normed2 = layerNorm(sd, h, v.get(b + "norm2.weight"), v.get(b + "norm2.bias"), layerNormEps);
      SDVariable y = mlp.apply(params, b + "mlp", normed2, drop.at(b + "mlp.drop1", t, mlpDim),
          drop.at(b + "mlp.drop2", t, width));
      h = h.add(dropPath(sd, y, pathNoise, rate, t, b + "drop_path2", masks));
    }
    h = layerNorm(sd, h, v.get("norm.weight"), v.get("norm.bias"), layerNormEps);

    SDVariable tokens = sd.reshape(name + "_tokens", h, -1, t, width);
    SDVariable first = tokens.get(SDIndex.all(), SDIndex.interval(0, 1), SDIndex.all());
    SDVariable classToken = sd.reshape(name + "_class_token", first, -1, width);
    SDVariable pooled = pooling == Pooling.CLASS_TOKEN
        ? classToken
        : tokens.get(SDIndex.all(), SDIndex.interval(1, t), SDIndex.all()).mean(name + "_mean_pool", false, 1);
    List<String> names = new ArrayList<>();
    for (Param p : parameters()) {
      names.add(variableName(p));
    }
    return new VitGraph(tokens, classToken, pooled, names, masks, noise);
  }

  /**
   * timm's drop_path on a residual branch [N·T, D]: each sample's T rows times its mask,
   * Bernoulli(keep)/keep with keep = 1 − rate, drawn from the next column of the uniform noise
   * placeholder. The identity (no op at all) when rate is 0. The
   * mask is named {@code name_blocks.i.drop_pathK.mask} ([N, 1, 1]), the masked branch {@code
   * name_blocks.i.drop_pathK}.
   */
  private SDVariable dropPath(
      SameDiff sd, SDVariable branch, SDVariable noise, double rate, int t, String key, List<SDVariable> masks) {
    if (rate == 0) {
      return branch;
    }
    SDVariable u = noise.get(SDIndex.all(), SDIndex.point(masks.size()));  // [N] in [0, 1)
    DropPath.Masked dropped = DropPath.apply(sd, branch, u, rate, t, width, dataType, name + "_" + key);
    masks.add(dropped.mask());
    return dropped.output();
  }

  /**
   * Elementwise inverted dropout at one rate, each site drawing from its own noise placeholder
   * {@code name_key.noise}; the mask is {@code name_key.mask}, the result {@code name_key}. The
   * identity (no op at all) at rate 0, which is how inference graphs get none.
   */
  private final class Dropout {
    private final SameDiff sd;
    private final TrainingNoise noise;
    private final double rate;

    Dropout(SameDiff sd, TrainingNoise noise, double rate) {
      this.sd = sd;
      this.noise = noise;
      this.rate = rate;
    }

    /** x with {@code rowsPerSample} leading rows per sample and the given trailing shape. */
    SDVariable apply(SDVariable x, String key, long rowsPerSample, long... trailing) {
      if (rate == 0) {
        return x;
      }
      String site = name + "_" + key;
      SDVariable u = noise.uniform(sd, site + ".noise", dataType, rowsPerSample, trailing);
      return x.mul(site, DropPath.keepMask(u, 1.0 - rate, dataType, site + ".mask"));
    }

    /** {@link #apply} bound to a site, for the shared layers; null (no op) at rate 0. */
    UnaryOperator<SDVariable> at(String key, long rowsPerSample, long... trailing) {
      return rate == 0 ? null : x -> apply(x, key, rowsPerSample, trailing);
    }
  }

  // ---------------------------------------------------------------- weights

  /**
   * Copies a PyTorch state dict into this model's variables in {@code sd} (after {@link
   * #define}), transposing Linear weights and permuting the patch convolution. Values are cast
   * to each variable's type. The classifier ({@code head.*} / {@code heads.*}) is skipped.
   *
   * <p>A position embedding trained at another resolution is resampled to this model's patch
   * grid (bicubic, see {@link #resamplePositionEmbedding}) and the sizes are logged at INFO. As in
   * timm, the checkpoint's grid is inferred as square from its token count; resample a
   * non-square one first.
   *
   * <p>Keys this model has no parameter for are unexpected: reported and logged at WARN, not
   * fatal (the rule of every import, see {@link WeightReport}); the classifier is {@link
   * WeightReport#ignored()}.
   *
   * @return what was loaded, skipped and unexpected
   * @throws IllegalArgumentException listing every missing or mis-shaped key with its expected
   *     and found shapes, and the unexpected keys; nothing is changed then
   * @throws IllegalStateException if {@code sd} lacks this model's variables
   */
  public WeightReport importWeights(SameDiff sd, Map<String, INDArray> weights, WeightLayout layout) {
    checkArgument(sd != null, "sd: expected a SameDiff instance, found null");
    checkArgument(weights != null, "weights: expected a map of tensors, found null");
    checkArgument(layout != null, "layout: expected TIMM or TORCHVISION, found null");
    return VitWeights.importInto(this, sd, weights, layout);
  }

  /**
   * A position embedding [1, 1 + oldGridH·oldGridW, D] (class token first) resampled to the grid
   * newGridH × newGridW, as timm's {@code resample_abs_pos_embed}: the class token's embedding is
   * kept, the grid part resized as PyTorch's {@code F.interpolate(mode='bicubic',
   * align_corners=False, antialias=False)} (A = −0.75, border indices clamped). Computed in
   * double, returned in the input's type.
   *
   * <p>{@link #importWeights} calls this itself when a checkpoint's square grid differs from the
   * model's; call it directly for a checkpoint trained at a non-square size, whose grid cannot be
   * inferred from its token count.
   */
  public static INDArray resamplePositionEmbedding(
      INDArray posEmbed, int oldGridH, int oldGridW, int newGridH, int newGridW) {
    return PositionEmbeddings.resample(posEmbed, oldGridH, oldGridW, newGridH, newGridW);
  }

  /**
   * This model's variables in {@code sd} as a PyTorch state dict in {@code layout} (fresh
   * arrays, C order, the variables' type). {@link #importWeights} of the result is the identity.
   */
  public Map<String, INDArray> exportWeights(SameDiff sd, WeightLayout layout) {
    checkArgument(sd != null, "sd: expected a SameDiff instance, found null");
    checkArgument(layout != null, "layout: expected TIMM or TORCHVISION, found null");
    return VitWeights.exportFrom(this, sd, layout);
  }

  // ---------------------------------------------------------------- config

  /** {@code _class_name} of this model's config. */
  public static final String CONFIG_CLASS_NAME = "VisionTransformer";

  private static final Map<String, String> CONFIG_FIELD_OF = Map.ofEntries(
      Map.entry("preset", "preset"), Map.entry("imageSize", "img_size"), Map.entry("patchSize", "patch_size"),
      Map.entry("width", "embed_dim"), Map.entry("depth", "depth"), Map.entry("heads", "num_heads"),
      Map.entry("mlpRatio", "mlp_ratio"), Map.entry("qkvBias", "qkv_bias"),
      Map.entry("layerNormEps", "layer_norm_eps"), Map.entry("pooling", "global_pool"),
      Map.entry("dropPathRate", "drop_path_rate"), Map.entry("dropout", "drop_rate"),
      Map.entry("attentionDropout", "attn_drop_rate"), Map.entry("seed", "seed"), Map.entry("name", "name"),
      Map.entry("dataType", "dtype"));
  private static final List<String> POOLS = List.of("token", "avg");
  private static final List<String> DTYPES = List.of("float32", "float64");

  /**
   * This model's configuration as JSON, everything {@link #fromConfig} needs to build an equal
   * model (and, with the same seed, the same initial weights): the role of diffusers' {@code
   * config.json} and timm's {@code pretrained_cfg}. Fields are named as timm's {@code
   * VisionTransformer} arguments where timm has one ({@code img_size} as [height, width], {@code
   * patch_size}, {@code embed_dim}, {@code depth}, {@code num_heads}, {@code mlp_ratio}, {@code
   * qkv_bias}, {@code global_pool} "token" or "avg", {@code drop_rate}, {@code attn_drop_rate},
   * {@code drop_path_rate}), else after the builder: {@code layer_norm_eps}, {@code preset}
   * (the preset's name), {@code seed}, {@code name} (the variable prefix) and {@code dtype}
   * ("float32" or "float64"); plus {@code _class_name} = {@value #CONFIG_CLASS_NAME} and {@code
   * _config_version} = 1. Every value is written in full (not only those that differ from the
   * preset), so the text describes the architecture on its own. Compact JSON, one line.
   */
  public String toConfig() {
    Map<String, Object> m = ConfigJson.start(CONFIG_CLASS_NAME);
    m.put("preset", preset.name());
    m.put("img_size", List.of(imageHeight, imageWidth));
    m.put("patch_size", patchSize);
    m.put("embed_dim", width);
    m.put("depth", depth);
    m.put("num_heads", heads);
    m.put("mlp_ratio", mlpRatio);
    m.put("qkv_bias", qkvBias);
    m.put("layer_norm_eps", layerNormEps);
    m.put("global_pool", pooling == Pooling.CLASS_TOKEN ? "token" : "avg");
    m.put("drop_rate", dropout);
    m.put("attn_drop_rate", attentionDropout);
    m.put("drop_path_rate", dropPathRate);
    m.put("seed", seed);
    m.put("name", name);
    m.put("dtype", dataType == DataType.FLOAT ? "float32" : "float64");
    return StrictJson.write(m);
  }

  /**
   * The model a {@link #toConfig} text describes: {@code fromConfig(vit.toConfig())} equals
   * {@code vit}. Fields that are absent (or JSON null) take the builder's defaults, and fields
   * given equal to the preset's stay implicit (so {@code toBuilder().preset(..)} behaves as for
   * the original); {@code img_size} may also be one number, as timm allows.
   *
   * @throws IllegalArgumentException naming the field, what was expected and what was found, for
   *     malformed JSON, a field of the wrong type, an out-of-range value (as {@link
   *     Builder#build()} checks it), an unknown field, or another {@code _class_name}
   */
  public static VisionTransformer fromConfig(String json) {
    ConfigJson c = ConfigJson.parse(CONFIG_CLASS_NAME, json, Set.copyOf(CONFIG_FIELD_OF.values()));
    Builder b = builder();
    if (c.has("preset")) {
      List<String> presets = Arrays.stream(VitPreset.values()).map(Enum::name).toList();
      b.preset(VitPreset.valueOf(c.oneOf("preset", presets)));
    }
    if (c.has("img_size")) {
      List<?> size = c.listOrNull("img_size");
      if (size == null) {
        b.imageSize(c.integer("img_size"));
      } else {
        if (size.size() != 2) {
          throw c.error("img_size", "one size or [height, width]", c.shown("img_size"));
        }
        Long h = StrictJson.exactLong(size.get(0));
        Long w = StrictJson.exactLong(size.get(1));
        if (h == null || w == null || h != h.intValue() || w != w.intValue()) {
          throw c.error("img_size", "[height, width] as integers", c.shown("img_size"));
        }
        b.imageSize(h.intValue(), w.intValue());
      }
    }
    VitPreset p = b.preset;
    if (c.has("patch_size") && (c.integer("patch_size") != p.patchSize())) {
      b.patchSize(c.integer("patch_size"));
    }
    if (c.has("embed_dim") && c.integer("embed_dim") != p.width()) {
      b.width(c.integer("embed_dim"));
    }
    if (c.has("depth") && c.integer("depth") != p.depth()) {
      b.depth(c.integer("depth"));
    }
    if (c.has("num_heads") && c.integer("num_heads") != p.heads()) {
      b.heads(c.integer("num_heads"));
    }
    if (c.has("mlp_ratio") && c.number("mlp_ratio") != p.mlpRatio()) {
      b.mlpRatio(c.number("mlp_ratio"));
    }
    c.ifBool("qkv_bias", b::qkvBias);
    c.ifNumber("layer_norm_eps", b::layerNormEps);
    if (c.has("global_pool")) {
      b.pooling(c.oneOf("global_pool", POOLS).equals("token") ? Pooling.CLASS_TOKEN : Pooling.MEAN);
    }
    c.ifNumber("drop_rate", b::dropout);
    c.ifNumber("attn_drop_rate", b::attentionDropout);
    c.ifNumber("drop_path_rate", b::dropPathRate);
    c.ifLong("seed", b::seed);
    c.ifString("name", b::name);
    if (c.has("dtype")) {
      b.dataType(c.oneOf("dtype", DTYPES).equals("float32") ? DataType.FLOAT : DataType.DOUBLE);
    }
    return c.build(b::build, CONFIG_FIELD_OF);
  }

  /**
   * Equal when every setting is: the preset and the resolved architecture, the rates, seed, name
   * and data type (so equal models define the same graph with the same initial weights). Whether
   * a size was set explicitly or came from the preset does not count.
   */
  @Override
  public boolean equals(Object o) {
    if (this == o) {
      return true;
    }
    if (!(o instanceof VisionTransformer v)) {
      return false;
    }
    return preset == v.preset && imageHeight == v.imageHeight && imageWidth == v.imageWidth
        && patchSize == v.patchSize && width == v.width && depth == v.depth && heads == v.heads
        && mlpRatio == v.mlpRatio && qkvBias == v.qkvBias && layerNormEps == v.layerNormEps
        && pooling == v.pooling && dropPathRate == v.dropPathRate && dropout == v.dropout
        && attentionDropout == v.attentionDropout && seed == v.seed && name.equals(v.name)
        && dataType == v.dataType;
  }

  @Override
  public int hashCode() {
    // + 0.0 maps -0.0 to 0.0, which equals() (==) does not tell apart
    return Objects.hash(preset, imageHeight, imageWidth, patchSize, width, depth, heads, mlpRatio + 0.0,
        qkvBias, layerNormEps + 0.0, pooling, dropPathRate + 0.0, dropout + 0.0, attentionDropout + 0.0, seed, name,
        dataType);
  }

  @Override
  public String toString() {
    return "VisionTransformer{image=" + imageHeight + "x" + imageWidth + ", patch=" + patchSize
        + ", width=" + width + ", depth=" + depth + ", heads=" + heads + ", mlpRatio=" + mlpRatio
        + ", qkvBias=" + qkvBias + ", layerNormEps=" + layerNormEps + ", pooling=" + pooling
        + ", dropPathRate=" + dropPathRate + ", dropout=" + dropout + ", attentionDropout=" + attentionDropout
        + ", seed=" + seed + ", name=" + name + ", dataType=" + dataType + "}";
  }

  /**
   * Defaults are ViT-B/16 at 224×224 as StableRep trains it: qkv bias, LayerNorm eps 1e-6,
   * class-token pooling, fp32. Width, depth, heads, patch size and MLP ratio come from the
   * preset unless set explicitly (in any order).
   */
  public static final class Builder {
    private VitPreset preset = VitPreset.B_16;
    private Integer patchSize;
    private Integer width;
    private Integer depth;
    private Integer heads;
    private Double mlpRatio;
    private int imageHeight = DEFAULT_IMAGE_SIZE;
    private int imageWidth = DEFAULT_IMAGE_SIZE;
    private boolean qkvBias = true;
    private double layerNormEps = DEFAULT_LAYER_NORM_EPS;
    private Pooling pooling = Pooling.CLASS_TOKEN;
    private double dropPathRate = 0.0;
    private double dropout = 0.0;
    private double attentionDropout = 0.0;
    private long seed = 0;
    private String name = "vit";
    private DataType dataType = DataType.FLOAT;

    private Builder() {}

    public Builder preset(VitPreset preset) {
      this.preset = preset;
      return this;
    }

    /** A square image size; must be a multiple of the patch size. */
    public Builder imageSize(int size) {
      return imageSize(size, size);
    }

    /** Image height and width; each must be a multiple of the patch size. */
    public Builder imageSize(int height, int width) {
      this.imageHeight = height;
      this.imageWidth = width;
      return this;
    }

    public Builder patchSize(int patchSize) {
      this.patchSize = patchSize;
      return this;
    }

    /** The embedding width D; must be divisible by the number of heads. */
    public Builder width(int width) {
      this.width = width;
      return this;
    }

    public Builder depth(int depth) {
      this.depth = depth;
      return this;
    }

    public Builder heads(int heads) {
      this.heads = heads;
      return this;
    }

    /** MLP hidden width over D; width · ratio must be (close to) a whole number. */
    public Builder mlpRatio(double mlpRatio) {
      this.mlpRatio = mlpRatio;
      return this;
    }

    public Builder qkvBias(boolean qkvBias) {
      this.qkvBias = qkvBias;
      return this;
    }

    public Builder layerNormEps(double layerNormEps) {
      this.layerNormEps = layerNormEps;
      return this;
    }

    public Builder pooling(Pooling pooling) {
      this.pooling = pooling;
      return this;
    }

    /**
     * Stochastic depth (timm's {@code drop_path_rate}): the last block's rate, the others
     * linearly spaced down to 0 for the first; used by training graphs only. In [0, 1); 0 (the
     * default) turns it off. StableRep trains ViT-B/16 with 0.1.
     */
    public Builder dropPathRate(double dropPathRate) {
      this.dropPathRate = dropPathRate;
      return this;
    }

    /**
     * Dropout (timm's {@code drop_rate}, inverted: kept values scaled by 1/(1 − rate)) on the
     * embedded tokens after the position embedding ({@code pos_drop}), after the attention
     * projection ({@code proj_drop}) and after each MLP layer (timm's {@code Mlp} drops after the
     * activation and after fc2); used by training graphs only. In [0, 1); 0 (the default, as
     * StableRep) turns it off.
     */
    public Builder dropout(double dropout) {
      this.dropout = dropout;
      return this;
    }

    /**
     * Dropout on the attention probabilities after the softmax (timm's {@code attn_drop_rate});
     * used by training graphs only. In [0, 1); 0 (the default) turns it off.
     */
    public Builder attentionDropout(double attentionDropout) {
      this.attentionDropout = attentionDropout;
      return this;
    }

    /** Seeds the initialisation: the same seed and configuration give the same weights. */
    public Builder seed(long seed) {
      this.seed = seed;
      return this;
    }

    /** The prefix of the variables' names, so that two models can share a graph. */
    public Builder name(String name) {
      this.name = name;
      return this;
    }

    /** The type of the variables and the computation; FLOAT by default, DOUBLE for checks. */
    public Builder dataType(DataType dataType) {
      this.dataType = dataType;
      return this;
    }

    public VisionTransformer build() {
      checkArgument(preset != null, "preset: expected one of %s, found null", Arrays.toString(VitPreset.values()));
      checkArgument(pooling != null, "pooling: expected one of %s, found null", Arrays.toString(Pooling.values()));
      checkArgument(name != null && !name.isEmpty(), "name: expected a non-empty prefix, found '%s'", name);
      checkArgument(
          dataType == DataType.FLOAT || dataType == DataType.DOUBLE,
          "dataType: expected FLOAT or DOUBLE, found %s", dataType);
      int p = patchSize != null ? patchSize : preset.patchSize();
      int d = width != null ? width : preset.width();
      int h = heads != null ? heads : preset.heads();
      int n = depth != null ? depth : preset.depth();
      double r = mlpRatio != null ? mlpRatio : preset.mlpRatio();
      checkArgument(p >= 1, "patchSize: expected >= 1, found %s", p);
      checkArgument(
          imageHeight >= p && imageHeight % p == 0,
          "imageSize: expected a height that is a positive multiple of the patch size %s, found %s", p, imageHeight);
      checkArgument(
          imageWidth >= p && imageWidth % p == 0,
          "imageSize: expected a width that is a positive multiple of the patch size %s, found %s", p, imageWidth);
      checkArgument(d >= 1, "width: expected >= 1, found %s", d);
      checkArgument(n >= 1, "depth: expected >= 1, found %s", n);
      checkArgument(h >= 1 && d % h == 0, "heads: expected >= 1 and dividing width %s, found %s", d, h);
      checkArgument(
          Double.isFinite(r) && r > 0 && Math.round(d * r) >= 1 && Math.abs(d * r - Math.round(d * r)) < 1e-9,
          "mlpRatio: expected a value > 0 with width %s * ratio a whole number, found %s", (Object) d, r);
      checkArgument(
          Double.isFinite(layerNormEps) && layerNormEps > 0,
          "layerNormEps: expected a finite value > 0 (timm uses 1e-6), found %s", layerNormEps);
      checkArgument(
          dropPathRate >= 0 && dropPathRate < 1,
          "dropPathRate: expected a value in [0, 1) (0 turns drop path off), found %s", dropPathRate);
      checkArgument(
          dropout >= 0 && dropout < 1,
          "dropout: expected a value in [0, 1) (0 turns dropout off), found %s", dropout);
      checkArgument(
          attentionDropout >= 0 && attentionDropout < 1,
          "attentionDropout: expected a value in [0, 1) (0 turns it off), found %s", attentionDropout);
      return new VisionTransformer(this);
    }
  }
}
