package io.github.stablerep.models.diffusion;

import static com.google.common.base.Preconditions.checkArgument;
import static io.github.stablerep.models.diffusion.DiffusionBlocks.conv;
import static io.github.stablerep.models.diffusion.DiffusionBlocks.downsample;
import static io.github.stablerep.models.diffusion.DiffusionBlocks.groupNormSilu;
import static io.github.stablerep.models.diffusion.DiffusionBlocks.resnet;
import static io.github.stablerep.models.diffusion.DiffusionBlocks.timestepEmbedding;
import static io.github.stablerep.models.diffusion.DiffusionBlocks.timestepSinusoid;
import static io.github.stablerep.models.diffusion.DiffusionBlocks.transformer2d;
import static io.github.stablerep.models.diffusion.DiffusionBlocks.upsample;
import static io.github.stablerep.models.internal.ImageLayers.silu;

import com.google.common.collect.ImmutableList;
import io.github.stablerep.models.WeightReport;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.Collections;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Stable Diffusion's denoiser, diffusers' {@code UNet2DConditionModel} (v0.21 semantics) as a
 * SameDiff graph: sinusoidal timestep embedding and its MLP, conv_in, down blocks
 * (CrossAttnDownBlock2D or DownBlock2D) whose outputs are kept as skips, the
 * UNetMidBlock2DCrossAttn, up blocks (UpBlock2D or CrossAttnUpBlock2D) that concatenate the skips,
 * then GroupNorm, SiLU and conv_out. Parameters carry diffusers' state-dict keys. Defaults are SD
 * v1.5's {@code unet/config.json}.
 *
 * <p>As in diffusers 0.21, {@code attention_head_dim} is read as the number of heads per block
 * (head size = block channels / heads): that is what SD v1.x checkpoints were trained with.
 */
public final class UNet2DConditionModel {
  /** Sanity bounds on a config (see {@link Builder#build()}): blocks, channels, layers per block. */
  static final int MAX_BLOCKS = 8;
  static final int MAX_CHANNELS = 16384;
  static final int MAX_LAYERS_PER_BLOCK = 64;

  static final String CROSS_DOWN = "CrossAttnDownBlock2D";
  static final String DOWN = "DownBlock2D";
  static final String CROSS_UP = "CrossAttnUpBlock2D";
  static final String UP = "UpBlock2D";

  private final int sampleSize;
  private final int inChannels;
  private final int outChannels;
  private final boolean centerInputSample;
  private final boolean flipSinToCos;
  private final double freqShift;
  private final ImmutableList<String> downBlockTypes;
  private final ImmutableList<String> upBlockTypes;
  private final ImmutableList<Integer> blockOutChannels;
  private final ImmutableList<Integer> layersPerBlock;
  private final ImmutableList<Integer> attentionHeads;
  private final ImmutableList<Integer> crossAttentionDim;
  private final ImmutableList<Integer> transformerLayersPerBlock;
  private final int downsamplePadding;
  private final double midBlockScaleFactor;
  private final int normNumGroups;
  private final double normEps;
  private final boolean useLinearProjection;
  private final int convInKernel;
  private final int convOutKernel;
  private final DataType dataType;
  private final String name;
  private final long seed;
  private final Map<String, INDArray> weights;   // graph layout, or null for a seeded initialisation

  private UNet2DConditionModel(Builder b, Map<String, INDArray> weights) {
    int n = b.blockOutChannels.size();
    this.sampleSize = b.sampleSize;
    this.inChannels = b.inChannels;
    this.outChannels = b.outChannels;
    this.centerInputSample = b.centerInputSample;
    this.flipSinToCos = b.flipSinToCos;
    this.freqShift = b.freqShift;
    this.downBlockTypes = ImmutableList.copyOf(b.downBlockTypes);
    this.upBlockTypes = ImmutableList.copyOf(b.upBlockTypes);
    this.blockOutChannels = ImmutableList.copyOf(b.blockOutChannels);
    this.layersPerBlock = broadcast(b.layersPerBlock, n);
    this.attentionHeads = broadcast(b.attentionHeads, n);
    this.crossAttentionDim = broadcast(b.crossAttentionDim, n);
    this.transformerLayersPerBlock = broadcast(b.transformerLayersPerBlock, n);
    this.downsamplePadding = b.downsamplePadding;
    this.midBlockScaleFactor = b.midBlockScaleFactor;
    this.normNumGroups = b.normNumGroups;
    this.normEps = b.normEps;
    this.useLinearProjection = b.useLinearProjection;
    this.convInKernel = b.convInKernel;
    this.convOutKernel = b.convOutKernel;
    this.dataType = b.dataType;
    this.name = b.name;
    this.seed = b.seed;
    this.weights = weights;
  }

  private static ImmutableList<Integer> broadcast(List<Integer> v, int n) {
    return v.size() == 1 && n > 1 ? ImmutableList.copyOf(Collections.nCopies(n, v.get(0))) : ImmutableList.copyOf(v);
  }

  public static Builder builder() {
    return new Builder();
  }

  public Builder toBuilder() {
    Builder b = new Builder();
    b.sampleSize = sampleSize;
    b.inChannels = inChannels;
    b.outChannels = outChannels;
    b.centerInputSample = centerInputSample;
    b.flipSinToCos = flipSinToCos;
    b.freqShift = freqShift;
    b.downBlockTypes = downBlockTypes;
    b.upBlockTypes = upBlockTypes;
    b.blockOutChannels = blockOutChannels;
    b.layersPerBlock = layersPerBlock;
    b.attentionHeads = attentionHeads;
    b.crossAttentionDim = crossAttentionDim;
    b.transformerLayersPerBlock = transformerLayersPerBlock;
    b.downsamplePadding = downsamplePadding;
    b.midBlockScaleFactor = midBlockScaleFactor;
    b.normNumGroups = normNumGroups;
    b.normEps = normEps;
    b.useLinearProjection = useLinearProjection;
    b.convInKernel = convInKernel;
    b.convOutKernel = convOutKernel;
    b.dataType = dataType;
    b.name = name;
    b.seed = seed;
    return b;
  }

  /**
   * The architecture of a {@code unet/config.json}. Options this class does not implement (class
   * or addition embeddings, other block or time-embedding types, scale-shift norms, ...) are
   * rejected with the key and the value found.
   */
  public static UNet2DConditionModel fromConfig(DiffusersConfig c) {
    return builderFrom(c).build();
  }

  static Builder builderFrom(DiffusersConfig c) {
    checkArgument(c != null, "config: expected a unet config.json, found null");
    for (String key : List.of("class_embed_type", "addition_embed_type", "num_class_embeds", "encoder_hid_dim",
        "encoder_hid_dim_type", "time_cond_proj_dim", "timestep_post_act", "time_embedding_act_fn",
        "cross_attention_norm", "projection_class_embeddings_input_dim", "addition_time_embed_dim",
        "time_embedding_dim", "num_attention_heads")) {
      checkArgument(!c.has(key), "config %s: key '%s': expected null or absent (not supported), found a value",
          c.source(), key);
    }
    requireValue(c, "act_fn", "silu");
    requireValue(c, "time_embedding_type", "positional");
    requireValue(c, "resnet_time_scale_shift", "default");
    requireValue(c, "mid_block_type", "UNetMidBlock2DCrossAttn");
    requireValue(c, "attention_type", "default");
    for (String key : List.of("dual_cross_attention", "resnet_skip_time_act", "class_embeddings_concat",
        "mid_block_only_cross_attention")) {
      checkArgument(!c.getBoolean(key, false), "config %s: key '%s': expected false (not supported), found true",
          c.source(), key);
    }
    if (c.has("only_cross_attention")) {
      checkArgument(onlyFalse(c, "only_cross_attention"),
          "config %s: key 'only_cross_attention': expected false (not supported), found true", c.source());
    }
    checkArgument(c.getDouble("resnet_out_scale_factor", 1.0) == 1.0,
        "config %s: key 'resnet_out_scale_factor': expected 1.0 (not supported otherwise), found %s", c.source(),
        c.getDouble("resnet_out_scale_factor", 1.0));
    Builder b = builder();
    List<Integer> channels = c.has("block_out_channels") ? c.getIntList("block_out_channels", 0) : b.blockOutChannels;
    int n = channels.size();
    b.blockOutChannels = channels;
    if (c.has("down_block_types")) {
      b.downBlockTypes = c.getStringList("down_block_types");
    }
    if (c.has("up_block_types")) {
      b.upBlockTypes = c.getStringList("up_block_types");
    }
    b.sampleSize = c.getInt("sample_size", b.sampleSize);
    b.inChannels = c.getInt("in_channels", b.inChannels);
    b.outChannels = c.getInt("out_channels", b.outChannels);
    b.centerInputSample = c.getBoolean("center_input_sample", false);
    b.flipSinToCos = c.getBoolean("flip_sin_to_cos", true);
    b.freqShift = c.getDouble("freq_shift", 0);
    if (c.has("layers_per_block")) {
      b.layersPerBlock = c.getIntList("layers_per_block", n);
    }
    if (c.has("attention_head_dim")) {
      b.attentionHeads = c.getIntList("attention_head_dim", n);
    }
    if (c.has("cross_attention_dim")) {
      b.crossAttentionDim = c.getIntList("cross_attention_dim", n);
    }
    if (c.has("transformer_layers_per_block")) {
      b.transformerLayersPerBlock = c.getIntList("transformer_layers_per_block", n);
    }
    b.downsamplePadding = c.getInt("downsample_padding", 1);
    b.midBlockScaleFactor = c.getDouble("mid_block_scale_factor", 1.0);
    b.normNumGroups = c.getInt("norm_num_groups", 32);
    b.normEps = c.getDouble("norm_eps", 1e-5);
    b.useLinearProjection = c.getBoolean("use_linear_projection", false);
    b.convInKernel = c.getInt("conv_in_kernel", 3);
    b.convOutKernel = c.getInt("conv_out_kernel", 3);
    return b;
  }

  private static boolean onlyFalse(DiffusersConfig c, String key) {
    try {
      return !c.getBoolean(key, false);
    } catch (IllegalArgumentException notABoolean) {
      // a per-block list of booleans is allowed by diffusers; only all-false is supported here
      return false;
    }
  }

  private static void requireValue(DiffusersConfig c, String key, String expected) {
    String v = c.getString(key, expected);
    checkArgument(v.equals(expected), "config %s: key '%s': expected %s (the only value supported), found %s",
        c.source(), key, expected, v);
  }

  /**
   * A UNet from a diffusers component folder: {@code config.json} and
   * {@code diffusion_pytorch_model.safetensors} (or its {@code .fp16} variant, upcast). Fails,
   * listing every offender, when a parameter is missing or mis-shaped; unexpected keys are
   * logged. The weights are used by {@link #define}.
   */
  public static UNet2DConditionModel fromPretrained(Path componentFolder) {
    return fromPretrained(componentFolder, DataType.FLOAT);
  }

  public static UNet2DConditionModel fromPretrained(Path componentFolder, DataType dataType) {
    Path file = ModuleWeights.weightsFile(componentFolder);
    UNet2DConditionModel arch = builderFrom(DiffusersConfig.read(componentFolder.resolve("config.json")))
        .dataType(dataType).build();
    WeightStructure.checkUNet(arch, componentFolder.resolve("config.json").toString(), file);
    return new UNet2DConditionModel(arch.toBuilder(), ModuleWeights.readPretrained(file, arch.parameterShapes(), dataType));
  }

  /**
   * The noise prediction (or v-prediction, as trained) for a noisy latent.
   *
   * @param sample [N, inChannels, H, W], H and W multiples of 2^(blocks-1)
   * @param timestep [N] (or a scalar for the whole batch), any numeric type, fractional allowed
   * @param encoderHiddenStates [N, T, crossAttentionDim] (the text encoder's last hidden state)
   * @return [N, outChannels, H, W]
   */
  public SDVariable define(SameDiff sd, SDVariable sample, SDVariable timestep, SDVariable encoderHiddenStates) {
    checkArgument(sd != null, "sd: expected a SameDiff instance, found null");
    return forward(new ModuleParams(sd, name, dataType, seed, weights, false), sample, timestep, encoderHiddenStates);
  }

  /**
   * {@link #define} for inference within this process, faster on the CPU: in FLOAT graphs
   * GroupNorm (with SiLU), LayerNorm and GEGLU run as Java kernels, and so do the attention
   * layers that see at least {@value
   * io.github.stablerep.models.internal.FusedAttention#MIN_KERNEL_QUERIES} positions at the
   * latent size {@code height}×{@code width} with heads at most {@value
   * io.github.stablerep.models.internal.FusedAttention#MAX_KERNEL_HEAD_DIM} wide, one kernel per
   * head instead of SameDiff's matmul, softmax and matmul (same values within float rounding, see
   * docs/ARCHITECTURE.md "Java kernels in a SameDiff graph"). The graph still takes any latent
   * size; the size given only decides where the kernel is used. The kernel is attached to {@code
   * sd} as a listener, so the graph is not for training, and a copy saved with {@code sd.save}
   * would compute without it. {@link StableDiffusionPipeline} builds its UNet this way.
   */
  public SDVariable defineForInference(SameDiff sd, SDVariable sample, SDVariable timestep,
      SDVariable encoderHiddenStates, int height, int width) {
    checkArgument(sd != null, "sd: expected a SameDiff instance, found null");
    checkArgument(height >= 1 && width >= 1, "height, width: expected the latent size (>= 1), found %s, %s", height,
        width);
    return forward(new ModuleParams(sd, name, dataType, seed, weights, false).withJavaKernels((long) height * width),
        sample, timestep, encoderHiddenStates);
  }

  /**
   * Loads diffusers-named weights into the variables {@link #define} created in {@code sd}.
   * Nothing is loaded unless all are present with their shapes; the exception lists every
   * offender.
   */
  public WeightReport loadWeights(SameDiff sd, Map<String, INDArray> stateDict) {
    return ModuleWeights.load(sd, name, stateDict, "for " + name);
  }

  /** Every parameter, in diffusers' keys and PyTorch's shapes (nothing is allocated). */
  public Map<String, long[]> parameterShapes() {
    SameDiff sd = SameDiff.create();
    ModuleParams p = new ModuleParams(sd, name, dataType, seed, null, true);
    forward(p, sd.placeHolder("sample", dataType, -1, inChannels, -1, -1), sd.placeHolder("t", DataType.FLOAT, -1),
        sd.placeHolder("context", dataType, -1, -1, crossAttentionDim.get(0)));
    return p.torchShapes();
  }

  public long parameterCount() {
    return ModuleWeights.parameterCount(parameterShapes());
  }

  private SDVariable forward(ModuleParams p, SDVariable sample, SDVariable timestep, SDVariable context) {
    SameDiff sd = p.sd();
    checkArgument(sample != null && timestep != null && context != null,
        "sample, timestep, encoderHiddenStates: expected variables, found null");
    long[] s = sample.getShape();
    int factor = 1 << (blockOutChannels.size() - 1);
    checkArgument(s == null || (s.length == 4 && (s[1] < 0 || s[1] == inChannels)
            && (s[2] < 0 || s[2] % factor == 0) && (s[3] < 0 || s[3] % factor == 0)),
        "sample: expected shape [N, %s, H, W] with H and W multiples of %s, found %s", inChannels, factor,
        Arrays.toString(s));
    long sampleTokens = p.sampleTokens() > 0 ? p.sampleTokens()
        : s != null && s.length == 4 && s[2] > 0 && s[3] > 0 ? s[2] * s[3] : -1;
    long[] cs = context.getShape();
    checkArgument(cs == null || (cs.length == 3 && (cs[2] < 0 || crossAttentionDim.contains((int) cs[2]))),
        "encoderHiddenStates: expected shape [N, T, %s], found %s", crossAttentionDim.get(0), Arrays.toString(cs));
    SDVariable x = sample.dataType() == dataType ? sample : sample.castTo(dataType);
    SDVariable ctx = context.dataType() == dataType ? context : context.castTo(dataType);
    if (centerInputSample) {
      x = x.mul(2.0).sub(1.0);
    }
    int c0 = blockOutChannels.get(0);
    int temb = 4 * c0;
    SDVariable emb = timestepEmbedding(p, "time_embedding",
        timestepSinusoid(sd, timestep, c0, flipSinToCos, freqShift, dataType), c0, temb);

    SDVariable h = conv(p, "conv_in", x, inChannels, c0, convInKernel, 1, (convInKernel - 1) / 2);
    Deque<SDVariable> skips = new ArrayDeque<>();
    Deque<Integer> skipChannels = new ArrayDeque<>();
    skips.push(h);
    skipChannels.push(c0);
    int n = blockOutChannels.size();
    int c = c0;
    for (int i = 0; i < n; i++) {
      int out = blockOutChannels.get(i);
      String key = "down_blocks." + i;
      boolean cross = downBlockTypes.get(i).equals(CROSS_DOWN);
      for (int j = 0; j < layersPerBlock.get(i); j++) {
        h = resnet(p, key + ".resnets." + j, h, emb, j == 0 ? c : out, out, temb, normNumGroups, normEps, 1.0);
        if (cross) {
          h = attention(p, key + ".attentions." + j, h, ctx, out, i, sampleTokens);
        }
        skips.push(h);
        skipChannels.push(out);
      }
      if (i < n - 1) {
        h = downsample(p, key + ".downsamplers.0", h, out, downsamplePadding);
        skips.push(h);
        skipChannels.push(out);
      }
      c = out;
    }

    h = resnet(p, "mid_block.resnets.0", h, emb, c, c, temb, normNumGroups, normEps, midBlockScaleFactor);
    h = attention(p, "mid_block.attentions.0", h, ctx, c, n - 1, sampleTokens);
    h = resnet(p, "mid_block.resnets.1", h, emb, c, c, temb, normNumGroups, normEps, midBlockScaleFactor);

    for (int i = 0; i < n; i++) {
      int block = n - 1 - i;    // the down block this up block mirrors: reversed per-block settings
      int out = blockOutChannels.get(block);
      String key = "up_blocks." + i;
      boolean cross = upBlockTypes.get(i).equals(CROSS_UP);
      for (int j = 0; j <= layersPerBlock.get(block); j++) {
        SDVariable skip = skips.pop();
        int skipC = skipChannels.pop();
        h = sd.concat(1, h, skip);
        h = resnet(p, key + ".resnets." + j, h, emb, c + skipC, out, temb, normNumGroups, normEps, 1.0);
        c = out;
        if (cross) {
          h = attention(p, key + ".attentions." + j, h, ctx, out, block, sampleTokens);
        }
      }
      if (i < n - 1) {
        h = upsample(p, key + ".upsamplers.0", h, out);
      }
    }
    h = groupNormSilu(p, "conv_norm_out", h, normNumGroups, c, normEps);
    return conv(p, "conv_out", h, c, outChannels, convOutKernel, 1, (convOutKernel - 1) / 2);
  }

  /**
   * The Transformer2DModel of block {@code block} (per-block heads, cross-attention width, depth);
   * {@code sampleTokens} is H·W of the sample when known when defining (-1 otherwise), block i
   * working at 1/4^i of it.
   */
  private SDVariable attention(ModuleParams p, String key, SDVariable h, SDVariable ctx, int channels, int block,
      long sampleTokens) {
    int heads = attentionHeads.get(block);
    int tokens = sampleTokens < 0 ? -1 : (int) (sampleTokens >> (2 * block));
    return transformer2d(p, key, h, ctx, channels, crossAttentionDim.get(block), heads, channels / heads,
        transformerLayersPerBlock.get(block), normNumGroups, useLinearProjection, tokens);
  }

  public int sampleSize() { return sampleSize; }
  public int inChannels() { return inChannels; }
  public int outChannels() { return outChannels; }
  public boolean centerInputSample() { return centerInputSample; }
  public boolean flipSinToCos() { return flipSinToCos; }
  public double freqShift() { return freqShift; }
  public ImmutableList<String> downBlockTypes() { return downBlockTypes; }
  public ImmutableList<String> upBlockTypes() { return upBlockTypes; }
  public ImmutableList<Integer> blockOutChannels() { return blockOutChannels; }
  public ImmutableList<Integer> layersPerBlock() { return layersPerBlock; }
  /** Heads per down block (diffusers 0.21's {@code attention_head_dim}). */
  public ImmutableList<Integer> attentionHeads() { return attentionHeads; }
  public ImmutableList<Integer> crossAttentionDim() { return crossAttentionDim; }
  public ImmutableList<Integer> transformerLayersPerBlock() { return transformerLayersPerBlock; }
  public int downsamplePadding() { return downsamplePadding; }
  public double midBlockScaleFactor() { return midBlockScaleFactor; }
  public int normNumGroups() { return normNumGroups; }
  public double normEps() { return normEps; }
  public boolean useLinearProjection() { return useLinearProjection; }
  public DataType dataType() { return dataType; }
  public String name() { return name; }
  /** Whether pretrained weights came with this UNet (else a seeded PyTorch-default initialisation). */
  public boolean hasPretrainedWeights() { return weights != null; }

  @Override
  public String toString() {
    return "UNet2DConditionModel{sampleSize=" + sampleSize + ", in=" + inChannels + ", out=" + outChannels
        + ", down=" + downBlockTypes + ", up=" + upBlockTypes + ", blockOutChannels=" + blockOutChannels
        + ", layersPerBlock=" + layersPerBlock + ", heads=" + attentionHeads + ", crossAttentionDim="
        + crossAttentionDim + ", transformerLayers=" + transformerLayersPerBlock + ", groups=" + normNumGroups
        + ", normEps=" + normEps + ", flipSinToCos=" + flipSinToCos + ", freqShift=" + freqShift
        + ", linearProjection=" + useLinearProjection + ", dataType=" + dataType + ", name=" + name
        + (weights != null ? ", pretrained" : ", seed=" + seed) + "}";
  }

  /** Defaults: SD v1.5's unet/config.json. */
  public static final class Builder {
    private int sampleSize = 64;
    private int inChannels = 4;
    private int outChannels = 4;
    private boolean centerInputSample = false;
    private boolean flipSinToCos = true;
    private double freqShift = 0;
    private List<String> downBlockTypes = List.of(CROSS_DOWN, CROSS_DOWN, CROSS_DOWN, DOWN);
    private List<String> upBlockTypes = List.of(UP, CROSS_UP, CROSS_UP, CROSS_UP);
    private List<Integer> blockOutChannels = List.of(320, 640, 1280, 1280);
    private List<Integer> layersPerBlock = List.of(2);
    private List<Integer> attentionHeads = List.of(8);
    private List<Integer> crossAttentionDim = List.of(768);
    private List<Integer> transformerLayersPerBlock = List.of(1);
    private int downsamplePadding = 1;
    private double midBlockScaleFactor = 1.0;
    private int normNumGroups = 32;
    private double normEps = 1e-5;
    private boolean useLinearProjection = false;
    private int convInKernel = 3;
    private int convOutKernel = 3;
    private DataType dataType = DataType.FLOAT;
    private String name = "unet";
    private long seed = 0;

    private Builder() {}

    public Builder sampleSize(int v) { this.sampleSize = v; return this; }
    public Builder inChannels(int v) { this.inChannels = v; return this; }
    public Builder outChannels(int v) { this.outChannels = v; return this; }
    public Builder centerInputSample(boolean v) { this.centerInputSample = v; return this; }
    public Builder flipSinToCos(boolean v) { this.flipSinToCos = v; return this; }
    public Builder freqShift(double v) { this.freqShift = v; return this; }
    public Builder downBlockTypes(String... v) { this.downBlockTypes = List.of(v); return this; }
    public Builder upBlockTypes(String... v) { this.upBlockTypes = List.of(v); return this; }
    public Builder blockOutChannels(Integer... v) { this.blockOutChannels = List.of(v); return this; }
    /** One value for all blocks, or one per down block. */
    public Builder layersPerBlock(Integer... v) { this.layersPerBlock = List.of(v); return this; }
    /** Heads per block (diffusers' {@code attention_head_dim}): one value, or one per down block. */
    public Builder attentionHeads(Integer... v) { this.attentionHeads = List.of(v); return this; }
    public Builder crossAttentionDim(Integer... v) { this.crossAttentionDim = List.of(v); return this; }
    public Builder transformerLayersPerBlock(Integer... v) { this.transformerLayersPerBlock = List.of(v); return this; }
    public Builder downsamplePadding(int v) { this.downsamplePadding = v; return this; }
    public Builder midBlockScaleFactor(double v) { this.midBlockScaleFactor = v; return this; }
    public Builder normNumGroups(int v) { this.normNumGroups = v; return this; }
    public Builder normEps(double v) { this.normEps = v; return this; }
    public Builder useLinearProjection(boolean v) { this.useLinearProjection = v; return this; }
    public Builder convInKernel(int v) { this.convInKernel = v; return this; }
    public Builder convOutKernel(int v) { this.convOutKernel = v; return this; }
    public Builder dataType(DataType v) { this.dataType = v; return this; }
    /** Prefix of the variable names, so that several modules share one SameDiff. */
    public Builder name(String v) { this.name = v; return this; }
    /** Seed of the PyTorch-default initialisation used without pretrained weights. */
    public Builder seed(long v) { this.seed = v; return this; }

    public UNet2DConditionModel build() {
      checkArgument(blockOutChannels != null && !blockOutChannels.isEmpty(),
          "blockOutChannels: expected at least one block, found %s", blockOutChannels);
      int n = blockOutChannels.size();
      checkArgument(downBlockTypes != null && downBlockTypes.size() == n,
          "downBlockTypes: expected %s types (one per blockOutChannels), found %s", n, downBlockTypes);
      checkArgument(upBlockTypes != null && upBlockTypes.size() == n,
          "upBlockTypes: expected %s types (one per blockOutChannels), found %s", n, upBlockTypes);
      for (String t : downBlockTypes) {
        checkArgument(t.equals(CROSS_DOWN) || t.equals(DOWN),
            "downBlockTypes: expected %s or %s (the types supported), found %s", CROSS_DOWN, DOWN, t);
      }
      for (String t : upBlockTypes) {
        checkArgument(t.equals(CROSS_UP) || t.equals(UP),
            "upBlockTypes: expected %s or %s (the types supported), found %s", CROSS_UP, UP, t);
      }
      checkArgument(normNumGroups > 0, "normNumGroups: expected > 0, found %s", normNumGroups);
      for (int c : blockOutChannels) {
        checkArgument(c > 0 && c % normNumGroups == 0,
            "blockOutChannels: expected positive multiples of normNumGroups %s, found %s", normNumGroups,
            blockOutChannels);
      }
      // Upper bounds far above any published UNet (SD 1.x/2.x/XL: 2-3 layers, 10 transformer
      // layers, 4 blocks, 1280 channels): a hostile config.json must fail here, before a graph of
      // 1000 layers per block is built or its parameter list allocated.
      checkArgument(n <= MAX_BLOCKS, "blockOutChannels: expected at most %s blocks, found %s", MAX_BLOCKS, n);
      for (int c : blockOutChannels) {
        checkArgument(c <= MAX_CHANNELS, "blockOutChannels: expected values <= %s, found %s", MAX_CHANNELS,
            blockOutChannels);
      }
      checkPerBlock("layersPerBlock", layersPerBlock, n, 1, MAX_LAYERS_PER_BLOCK);
      checkPerBlock("attentionHeads", attentionHeads, n, 1, MAX_CHANNELS);
      checkPerBlock("crossAttentionDim", crossAttentionDim, n, 1, MAX_CHANNELS);
      checkPerBlock("transformerLayersPerBlock", transformerLayersPerBlock, n, 1, MAX_LAYERS_PER_BLOCK);
      for (int i = 0; i < n; i++) {
        int heads = attentionHeads.get(attentionHeads.size() == 1 ? 0 : i);
        checkArgument(blockOutChannels.get(i) % heads == 0,
            "attentionHeads: expected a divisor of block %s's %s channels, found %s", i, blockOutChannels.get(i), heads);
      }
      checkArgument(inChannels > 0, "inChannels: expected > 0, found %s", inChannels);
      checkArgument(outChannels > 0, "outChannels: expected > 0, found %s", outChannels);
      checkArgument(sampleSize > 0, "sampleSize: expected > 0, found %s", sampleSize);
      checkArgument(downsamplePadding == 0 || downsamplePadding == 1,
          "downsamplePadding: expected 0 or 1, found %s", downsamplePadding);
      checkArgument(convInKernel > 0 && convInKernel % 2 == 1, "convInKernel: expected an odd size, found %s", convInKernel);
      checkArgument(convOutKernel > 0 && convOutKernel % 2 == 1, "convOutKernel: expected an odd size, found %s", convOutKernel);
      checkArgument(normEps > 0, "normEps: expected > 0, found %s", normEps);
      checkArgument(midBlockScaleFactor > 0, "midBlockScaleFactor: expected > 0, found %s", midBlockScaleFactor);
      checkArgument(Double.isFinite(freqShift) && freqShift < blockOutChannels.get(0) / 2,
          "freqShift: expected a number below half the embedding size %s, found %s", (Object) (blockOutChannels.get(0) / 2), freqShift);
      checkArgument(dataType == DataType.FLOAT || dataType == DataType.DOUBLE,
          "dataType: expected FLOAT or DOUBLE, found %s", dataType);
      checkArgument(name != null && !name.isEmpty() && !name.contains("/"),
          "name: expected a non-empty name without '/', found '%s'", name);
      return new UNet2DConditionModel(this, null);
    }

    private static void checkPerBlock(String field, List<Integer> v, int n, int min, int max) {
      checkArgument(v != null && (v.size() == 1 || v.size() == n),
          "%s: expected one value or %s (one per block), found %s", field, n, v);
      for (int x : v) {
        checkArgument(x >= min && x <= max, "%s: expected values in [%s, %s], found %s", field, min, max, v);
      }
    }
  }
}
