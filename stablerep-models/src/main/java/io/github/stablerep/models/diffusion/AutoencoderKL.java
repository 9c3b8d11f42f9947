package io.github.stablerep.models.diffusion;

import static com.google.common.base.Preconditions.checkArgument;
import static io.github.stablerep.models.diffusion.DiffusionBlocks.conv;
import static io.github.stablerep.models.diffusion.DiffusionBlocks.downsample;
import static io.github.stablerep.models.diffusion.DiffusionBlocks.groupNormLayer;
import static io.github.stablerep.models.diffusion.DiffusionBlocks.resnet;
import static io.github.stablerep.models.diffusion.DiffusionBlocks.upsample;
import static io.github.stablerep.models.diffusion.DiffusionBlocks.vaeAttention;
import static io.github.stablerep.models.internal.ImageLayers.silu;

import com.google.common.collect.ImmutableList;
import com.google.common.primitives.Ints;
import io.github.stablerep.models.WeightReport;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import org.nd4j.autodiff.samediff.SDIndex;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Stable Diffusion's VAE, diffusers' {@code AutoencoderKL} (v0.21 semantics) as SameDiff graphs:
 * the encoder to a diagonal Gaussian over latents (through {@code quant_conv}) and the decoder
 * from latents (through {@code post_quant_conv}), both with the single-head mid-block attention.
 * Parameters are named by their diffusers state-dict keys; {@link #loadWeights} and
 * {@link #fromPretrained} read diffusers files. The defaults are SD v1.5's VAE.
 *
 * <p>Images are [N, inChannels, H, W] in [-1, 1] with H and W multiples of 2^(blocks-1); latents
 * are [N, latentChannels, H/2^(blocks-1), W/2^(blocks-1)].
 */
public final class AutoencoderKL {
  /** Fixed in diffusers' Encoder, Decoder and their mid blocks. */
  static final double EPS = 1e-6;

  private final int inChannels;
  private final int outChannels;
  private final ImmutableList<Integer> blockOutChannels;
  private final int layersPerBlock;
  private final int latentChannels;
  private final int normNumGroups;
  private final double scalingFactor;
  private final DataType dataType;
  private final String name;
  private final long seed;
  private final Map<String, INDArray> weights;   // our layout, or null for a seeded initialisation

  private AutoencoderKL(Builder b, Map<String, INDArray> weights) {
    this.inChannels = b.inChannels;
    this.outChannels = b.outChannels;
    this.blockOutChannels = ImmutableList.copyOf(Ints.asList(b.blockOutChannels));
    this.layersPerBlock = b.layersPerBlock;
    this.latentChannels = b.latentChannels;
    this.normNumGroups = b.normNumGroups;
    this.scalingFactor = b.scalingFactor;
    this.dataType = b.dataType;
    this.name = b.name;
    this.seed = b.seed;
    this.weights = weights;
  }

  public static Builder builder() {
    return new Builder();
  }

  public Builder toBuilder() {
    return new Builder().inChannels(inChannels).outChannels(outChannels).blockOutChannels(Ints.toArray(blockOutChannels))
        .layersPerBlock(layersPerBlock).latentChannels(latentChannels).normNumGroups(normNumGroups)
        .scalingFactor(scalingFactor).dataType(dataType).name(name).seed(seed);
  }

  /**
   * The architecture of a {@code vae/config.json}. Options this class does not implement (other
   * block types or activations) are rejected with the key and the value found.
   */
  public static AutoencoderKL fromConfig(DiffusersConfig c) {
    return builderFrom(c).build();
  }

  static Builder builderFrom(DiffusersConfig c) {
    checkArgument(c != null, "config: expected a vae config.json, found null");
    String act = c.getString("act_fn", "silu");
    checkArgument(act.equals("silu"), "config %s: key 'act_fn': expected silu (the only activation supported), found %s",
        c.source(), act);
    List<Integer> channels = c.has("block_out_channels") ? c.getIntList("block_out_channels", 0) : List.of(64);
    requireAll(c, "down_block_types", "DownEncoderBlock2D", channels.size());
    requireAll(c, "up_block_types", "UpDecoderBlock2D", channels.size());
    return builder().inChannels(c.getInt("in_channels", 3)).outChannels(c.getInt("out_channels", 3))
        .blockOutChannels(Ints.toArray(channels)).layersPerBlock(c.getInt("layers_per_block", 1))
        .latentChannels(c.getInt("latent_channels", 4)).normNumGroups(c.getInt("norm_num_groups", 32))
        .scalingFactor(c.getDouble("scaling_factor", 0.18215));
  }

  private static void requireAll(DiffusersConfig c, String key, String type, int blocks) {
    if (!c.has(key)) {
      checkArgument(blocks == 1, "config %s: key '%s': expected one type per block (%s), found it missing",
          c.source(), key, blocks);
      return;
    }
    List<String> types = c.getStringList(key);
    checkArgument(types.size() == blocks, "config %s: key '%s': expected %s entries (one per block_out_channels), found %s",
        c.source(), key, blocks, types.size());
    for (String t : types) {
      checkArgument(t.equals(type), "config %s: key '%s': expected only %s (the type supported), found %s",
          c.source(), key, type, types);
    }
  }

  /**
   * A VAE from a diffusers component folder: {@code config.json} and
   * {@code diffusion_pytorch_model.safetensors} (or its {@code .fp16} variant, upcast). Legacy
   * attention names are accepted. Fails, listing every offender, when a parameter is missing or
   * mis-shaped; unexpected keys are logged. The weights are used by every {@code define*} call.
   */
  public static AutoencoderKL fromPretrained(Path componentFolder) {
    return fromPretrained(componentFolder, DataType.FLOAT);
  }

  public static AutoencoderKL fromPretrained(Path componentFolder, DataType dataType) {
    Path file = ModuleWeights.weightsFile(componentFolder);
    AutoencoderKL arch = builderFrom(DiffusersConfig.read(componentFolder.resolve("config.json")))
        .dataType(dataType).build();
    WeightStructure.checkVae(arch, componentFolder.resolve("config.json").toString(), file);
    return new AutoencoderKL(arch.toBuilder(), ModuleWeights.readPretrained(file, arch.parameterShapes(), dataType));
  }

  /** The encoder's output: a diagonal Gaussian over latents, as diffusers' DiagonalGaussianDistribution. */
  public static final class LatentDistribution {
    private final SDVariable mean;
    private final SDVariable logVar;

    LatentDistribution(SDVariable mean, SDVariable logVar) {
      this.mean = mean;
      this.logVar = logVar;
    }

    /** [N, latentChannels, h, w]. */
    public SDVariable mean() {
      return mean;
    }

    /** The log-variance, clamped to [-30, 20] as diffusers does. */
    public SDVariable logVar() {
      return logVar;
    }

    public SDVariable std() {
      return logVar.getSameDiff().math.exp(logVar.mul(0.5));
    }

    /** mean + std·noise, with {@code noise} standard normal shaped like the mean (see {@link #noise}). */
    public SDVariable sample(SDVariable noise) {
      return mean.add(std().mul(noise));
    }
  }

  /** Seeded standard-normal noise for {@link LatentDistribution#sample} (java.util.Random, reproducible). */
  public static INDArray noise(long seed, DataType type, long... shape) {
    Random rng = new Random(seed);
    double[] v = new double[Math.toIntExact(Arrays.stream(shape).reduce(1, Math::multiplyExact))];
    for (int i = 0; i < v.length; i++) {
      v[i] = rng.nextGaussian();
    }
    return Nd4j.createFromArray(v).reshape(shape).castTo(type);
  }

  /** The encoder and {@code quant_conv}: image [N, inChannels, H, W] to the latent distribution. */
  public LatentDistribution defineEncoder(SameDiff sd, SDVariable image) {
    return encoder(params(sd, false), image);
  }

  /** The decoder with {@code post_quant_conv}: latents z [N, latentChannels, h, w] to images. */
  public SDVariable defineDecoder(SameDiff sd, SDVariable z) {
    return decoder(params(sd, false), z);
  }

  /** What a pipeline decodes: {@code decoder(latents / scalingFactor)}. */
  public SDVariable defineDecodeScaled(SameDiff sd, SDVariable latents) {
    return defineDecoder(sd, latents.div(scalingFactor));
  }

  /**
   * Loads diffusers-named weights (legacy attention names and fp16 accepted) into the variables
   * this VAE defined in {@code sd}; only the parts defined are expected. Nothing is loaded unless
   * all of them are present with their shapes, and the exception lists every offender. The
   * parameters of a part not defined (the encoder when only the decoder is) are {@link
   * WeightReport#ignored()}; other keys are unexpected (see {@link WeightReport}).
   */
  public WeightReport loadWeights(SameDiff sd, Map<String, INDArray> stateDict) {
    java.util.Set<String> all = parameterShapes().keySet();
    return ModuleWeights.load(sd, name, stateDict, "for " + name, all::contains);
  }

  /** Every parameter of encoder and decoder, in diffusers' keys and PyTorch's shapes. */
  public Map<String, long[]> parameterShapes() {
    ModuleParams p = params(SameDiff.create(), true);
    SDVariable image = p.sd().placeHolder("image", dataType, -1, inChannels, -1, -1);
    encoder(p, image);
    decoder(p, p.sd().placeHolder("z", dataType, -1, latentChannels, -1, -1));
    return p.torchShapes();
  }

  public long parameterCount() {
    return ModuleWeights.parameterCount(parameterShapes());
  }

  private ModuleParams params(SameDiff sd, boolean dry) {
    checkArgument(sd != null, "sd: expected a SameDiff instance, found null");
    return new ModuleParams(sd, name, dataType, seed, weights, dry);
  }

  private LatentDistribution encoder(ModuleParams p, SDVariable image) {
    checkRank(image, "image", inChannels);
    SameDiff sd = p.sd();
    SDVariable x = image.dataType() == dataType ? image : image.castTo(dataType);
    int c = blockOutChannels.get(0);
    SDVariable h = conv(p, "encoder.conv_in", x, inChannels, c, 3, 1, 1);
    for (int i = 0; i < blockOutChannels.size(); i++) {
      int out = blockOutChannels.get(i);
      for (int j = 0; j < layersPerBlock; j++) {
        h = resnet(p, "encoder.down_blocks." + i + ".resnets." + j, h, null, j == 0 ? c : out, out, 0,
            normNumGroups, EPS, 1.0);
      }
      if (i < blockOutChannels.size() - 1) {
        h = downsample(p, "encoder.down_blocks." + i + ".downsamplers.0", h, out, 0);
      }
      c = out;
    }
    h = midBlock(p, "encoder.mid_block", h, c);
    h = silu(sd, groupNormLayer(p, "encoder.conv_norm_out", h, normNumGroups, c, EPS));
    h = conv(p, "encoder.conv_out", h, c, 2 * latentChannels, 3, 1, 1);
    SDVariable moments = conv(p, "quant_conv", h, 2 * latentChannels, 2 * latentChannels, 1, 1, 0);
    SDVariable mean = moments.get(SDIndex.all(), SDIndex.interval(0, latentChannels));
    SDVariable logVar = sd.math.clipByValue(moments.get(SDIndex.all(), SDIndex.interval(latentChannels, 2 * latentChannels)),
        -30.0, 20.0);
    return new LatentDistribution(mean, logVar);
  }

  private SDVariable decoder(ModuleParams p, SDVariable z) {
    checkRank(z, "z", latentChannels);
    SameDiff sd = p.sd();
    SDVariable x = z.dataType() == dataType ? z : z.castTo(dataType);
    x = conv(p, "post_quant_conv", x, latentChannels, latentChannels, 1, 1, 0);
    List<Integer> reversed = blockOutChannels.reverse();
    int c = reversed.get(0);
    SDVariable h = conv(p, "decoder.conv_in", x, latentChannels, c, 3, 1, 1);
    h = midBlock(p, "decoder.mid_block", h, c);
    for (int i = 0; i < reversed.size(); i++) {
      int out = reversed.get(i);
      for (int j = 0; j <= layersPerBlock; j++) {
        h = resnet(p, "decoder.up_blocks." + i + ".resnets." + j, h, null, j == 0 ? c : out, out, 0,
            normNumGroups, EPS, 1.0);
      }
      if (i < reversed.size() - 1) {
        h = upsample(p, "decoder.up_blocks." + i + ".upsamplers.0", h, out);
      }
      c = out;
    }
    h = silu(sd, groupNormLayer(p, "decoder.conv_norm_out", h, normNumGroups, c, EPS));
    return conv(p, "decoder.conv_out", h, c, outChannels, 3, 1, 1);
  }

  /** UNetMidBlock2D without time embedding: resnet, attention, resnet. */
  private SDVariable midBlock(ModuleParams p, String key, SDVariable h, int c) {
    h = resnet(p, key + ".resnets.0", h, null, c, c, 0, normNumGroups, EPS, 1.0);
    h = vaeAttention(p, key + ".attentions.0", h, c, normNumGroups, EPS);
    return resnet(p, key + ".resnets.1", h, null, c, c, 0, normNumGroups, EPS, 1.0);
  }

  private static void checkRank(SDVariable v, String what, int channels) {
    checkArgument(v != null, "%s: expected a variable [N, %s, H, W], found null", what, channels);
    long[] s = v.getShape();
    checkArgument(s == null || (s.length == 4 && (s[1] < 0 || s[1] == channels)),
        "%s: expected shape [N, %s, H, W], found %s", what, channels, Arrays.toString(s));
  }

  public int inChannels() { return inChannels; }
  public int outChannels() { return outChannels; }
  public ImmutableList<Integer> blockOutChannels() { return blockOutChannels; }
  public int layersPerBlock() { return layersPerBlock; }
  public int latentChannels() { return latentChannels; }
  public int normNumGroups() { return normNumGroups; }
  public double scalingFactor() { return scalingFactor; }
  public DataType dataType() { return dataType; }
  public String name() { return name; }
  /** Whether pretrained weights came with this VAE (else a seeded PyTorch-default initialisation). */
  public boolean hasPretrainedWeights() { return weights != null; }
  /** Spatial downsampling factor between image and latents. */
  public int downsamplingFactor() { return 1 << (blockOutChannels.size() - 1); }

  @Override
  public String toString() {
    return "AutoencoderKL{in=" + inChannels + ", out=" + outChannels + ", blockOutChannels=" + blockOutChannels
        + ", layersPerBlock=" + layersPerBlock + ", latentChannels=" + latentChannels + ", groups=" + normNumGroups
        + ", scalingFactor=" + scalingFactor + ", dataType=" + dataType + ", name=" + name
        + (weights != null ? ", pretrained" : ", seed=" + seed) + "}";
  }

  /** Defaults: SD v1.5's VAE (block_out_channels 128, 256, 512, 512; 2 layers; 32 groups). */
  public static final class Builder {
    private int inChannels = 3;
    private int outChannels = 3;
    private int[] blockOutChannels = {128, 256, 512, 512};
    private int layersPerBlock = 2;
    private int latentChannels = 4;
    private int normNumGroups = 32;
    private double scalingFactor = 0.18215;
    private DataType dataType = DataType.FLOAT;
    private String name = "vae";
    private long seed = 0;

    private Builder() {}

    public Builder inChannels(int v) { this.inChannels = v; return this; }
    public Builder outChannels(int v) { this.outChannels = v; return this; }
    public Builder blockOutChannels(int... v) { this.blockOutChannels = v == null ? null : v.clone(); return this; }
    public Builder layersPerBlock(int v) { this.layersPerBlock = v; return this; }
    public Builder latentChannels(int v) { this.latentChannels = v; return this; }
    public Builder normNumGroups(int v) { this.normNumGroups = v; return this; }
    public Builder scalingFactor(double v) { this.scalingFactor = v; return this; }
    public Builder dataType(DataType v) { this.dataType = v; return this; }
    /** Prefix of the variable names, so that several modules share one SameDiff. */
    public Builder name(String v) { this.name = v; return this; }
    /** Seed of the PyTorch-default initialisation used without pretrained weights. */
    public Builder seed(long v) { this.seed = v; return this; }

    public AutoencoderKL build() {
      checkArgument(inChannels > 0, "inChannels: expected > 0, found %s", inChannels);
      checkArgument(outChannels > 0, "outChannels: expected > 0, found %s", outChannels);
      checkArgument(latentChannels > 0, "latentChannels: expected > 0, found %s", latentChannels);
      // upper bounds as UNet2DConditionModel's, so a hostile config fails before anything is built
      checkArgument(layersPerBlock > 0 && layersPerBlock <= UNet2DConditionModel.MAX_LAYERS_PER_BLOCK,
          "layersPerBlock: expected a value in [1, %s], found %s", UNet2DConditionModel.MAX_LAYERS_PER_BLOCK,
          layersPerBlock);
      checkArgument(blockOutChannels != null && blockOutChannels.length > 0
              && blockOutChannels.length <= UNet2DConditionModel.MAX_BLOCKS,
          "blockOutChannels: expected 1 to %s blocks, found %s", UNet2DConditionModel.MAX_BLOCKS,
          Arrays.toString(blockOutChannels));
      checkArgument(normNumGroups > 0, "normNumGroups: expected > 0, found %s", normNumGroups);
      for (int c : blockOutChannels) {
        checkArgument(c > 0 && c % normNumGroups == 0 && c <= UNet2DConditionModel.MAX_CHANNELS,
            "blockOutChannels: expected multiples of normNumGroups %s up to %s, found %s", normNumGroups,
            UNet2DConditionModel.MAX_CHANNELS,
            Arrays.toString(blockOutChannels));
      }
      checkArgument(scalingFactor > 0 && Double.isFinite(scalingFactor),
          "scalingFactor: expected a positive number, found %s", scalingFactor);
      checkArgument(dataType == DataType.FLOAT || dataType == DataType.DOUBLE,
          "dataType: expected FLOAT or DOUBLE, found %s", dataType);
      checkArgument(name != null && !name.isEmpty() && !name.contains("/"),
          "name: expected a non-empty name without '/', found '%s'", name);
      return new AutoencoderKL(this, null);
    }
  }
}
