package io.github.stablerep.models.vit;

import static com.google.common.base.Preconditions.checkArgument;

import io.github.stablerep.core.io.SafeTensors;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * A ViT's configuration rebuilt from its weights: a timm state dict (a timm checkpoint, or the
 * command line's {@code export}) or the timm-named arrays of a training checkpoint.
 *
 * <p>Neither format stores a full configuration, so the shapes say what they can: width (class
 * token), patch size (patch convolution), depth (the block indices), MLP width (fc1), qkv bias
 * (present or not) and the image size (position embedding, a square grid assumed as timm does).
 * The head count and LayerNorm epsilon leave no trace in the shapes: they come from the caller,
 * else the file's metadata ({@value #HEADS_KEY}, {@value #EPS_KEY}), else timm's conventions (64
 * channels per head, as every standard ViT; eps 1e-6). Shared by the command line's {@code
 * embed} and stablerep-spark's distributed embedding, so both read a file the same way.
 */
public final class TimmVit {

  /** Metadata key of the head count. */
  public static final String HEADS_KEY = "vit.heads";
  /** Metadata key of the LayerNorm epsilon. */
  public static final String EPS_KEY = "vit.layer_norm_eps";

  private static final Pattern BLOCK = Pattern.compile("blocks\\.(\\d+)\\.norm1\\.weight");

  private TimmVit() {}

  /** A timm-layout state dict and the configuration it was trained with. */
  public record Loaded(VisionTransformer vit, Map<String, INDArray> weights) {}

  /**
   * Reads a timm-layout safetensors file and infers its ViT (named {@code "vit"}).
   *
   * @param heads the head count, or null for the metadata's or width / 64
   * @param eps the LayerNorm epsilon, or null for the metadata's or 1e-6
   * @throws IllegalArgumentException naming the file when it holds no timm ViT
   */
  public static Loaded read(Path file, Integer heads, Double eps) throws IOException {
    Map<String, INDArray> w = SafeTensors.read(file);
    Map<String, String> meta = SafeTensors.metadata(file);
    checkArgument(w.containsKey("cls_token") && w.containsKey("pos_embed"),
        "%s: expected timm ViT weights (cls_token, pos_embed, blocks.*), found keys %s", file, preview(w));
    VisionTransformer vit = infer(file, w, true, "vit", orMeta(heads, meta, HEADS_KEY, Integer::valueOf),
        orMeta(eps, meta, EPS_KEY, Double::valueOf));
    return new Loaded(vit, w);
  }

  /**
   * The ViT whose arrays {@code w} are, in timm's layout ({@code timmLayout}) or ours (the
   * names of a training checkpoint's ViT without its prefix).
   *
   * @param source what messages name (the file)
   */
  public static VisionTransformer infer(Object source, Map<String, INDArray> w, boolean timmLayout, String name,
      Integer heads, Double eps) {
    long[] cls = shape(source, w, "cls_token", 3);
    int width = (int) cls[2];
    long[] conv = shape(source, w, "patch_embed.proj.weight", 4);
    int patch = (int) (timmLayout ? conv[2] : conv[0]);
    int depth = 0;
    for (String k : w.keySet()) {
      Matcher m = BLOCK.matcher(k);
      if (m.matches()) {
        depth = Math.max(depth, Integer.parseInt(m.group(1)) + 1);
      }
    }
    checkArgument(depth > 0, "%s: expected ViT blocks (blocks.0.norm1.weight ...), found none", source);
    long[] fc1 = shape(source, w, "blocks.0.mlp.fc1.weight", 2);
    long mlp = timmLayout ? fc1[0] : fc1[1];
    long tokens = shape(source, w, "pos_embed", 3)[1];
    int grid = (int) Math.round(Math.sqrt(tokens - 1));
    checkArgument((long) grid * grid == tokens - 1, "%s: pos_embed: expected 1 + a square number of tokens "
        + "(a square image), found %s", source, tokens);
    int h = heads != null ? heads : Math.max(1, width / 64);
    // h >= 1 first: a checkpoint's vit.heads = 0 made width % h an ArithmeticException
    checkArgument(h >= 1 && width % h == 0, "heads: expected a divisor >= 1 of the ViT width %s (set --heads), found %s",
        width, h);
    return VisionTransformer.builder().width(width).depth(depth).heads(h).patchSize(patch)
        .mlpRatio(mlp / (double) width).imageSize(grid * patch).qkvBias(w.containsKey("blocks.0.attn.qkv.bias"))
        .layerNormEps(eps != null ? eps : VisionTransformer.DEFAULT_LAYER_NORM_EPS).name(name).build();
  }

  /** {@code given}, else the metadata's value under {@code key} parsed, else null. */
  public static <T> T orMeta(T given, Map<String, String> meta, String key, Function<String, T> parse) {
    if (given != null || !meta.containsKey(key)) {
      return given;
    }
    try {
      return parse.apply(meta.get(key));
    } catch (NumberFormatException e) {
      throw new IllegalArgumentException("metadata " + key + ": expected a number, found '" + meta.get(key) + "'");
    }
  }

  private static long[] shape(Object source, Map<String, INDArray> w, String key, int rank) {
    INDArray a = w.get(key);
    checkArgument(a != null && a.rank() == rank, "%s: expected a ViT tensor '%s' of rank %s, found %s", source, key,
        rank, a == null ? "none" : Arrays.toString(a.shape()));
    return a.shape();
  }

  private static String preview(Map<String, INDArray> w) {
    List<String> keys = new ArrayList<>(w.keySet());
    return keys.size() <= 5 ? keys.toString() : keys.subList(0, 5) + " ... (" + keys.size() + " keys)";
  }
}
