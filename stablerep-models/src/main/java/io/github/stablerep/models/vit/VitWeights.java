package io.github.stablerep.models.vit;

import io.github.stablerep.models.WeightReport;
import io.github.stablerep.models.vit.VisionTransformer.Kind;
import io.github.stablerep.models.vit.VisionTransformer.Param;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Key names and layouts of ViT state dicts: the mapping behind import and export. */
final class VitWeights {

  private static final Logger LOG = LoggerFactory.getLogger(VitWeights.class);

  private static final Pattern BLOCK = Pattern.compile("blocks\\.(\\d+)\\.(.+)");
  private static final Map<String, String> TORCHVISION_BLOCK = Map.of(
      "norm1.weight", "ln_1.weight",
      "norm1.bias", "ln_1.bias",
      "attn.qkv.weight", "self_attention.in_proj_weight",
      "attn.qkv.bias", "self_attention.in_proj_bias",
      "attn.proj.weight", "self_attention.out_proj.weight",
      "attn.proj.bias", "self_attention.out_proj.bias",
      "norm2.weight", "ln_2.weight",
      "norm2.bias", "ln_2.bias");
  private static final Map<String, String> TORCHVISION_TOP = Map.of(
      "cls_token", "class_token",
      "pos_embed", "encoder.pos_embedding",
      "patch_embed.proj.weight", "conv_proj.weight",
      "patch_embed.proj.bias", "conv_proj.bias",
      "norm.weight", "encoder.ln.weight",
      "norm.bias", "encoder.ln.bias");

  private VitWeights() {}

  /** The key a layout gives a parameter; for torchvision's MLP, 0.14's {@code mlp.0} / {@code mlp.3}. */
  static String key(WeightLayout layout, Param p) {
    return keys(layout, p).get(0);
  }

  /** Accepted keys, the exported one first (torchvision renamed its MLP layers after 0.14). */
  static List<String> keys(WeightLayout layout, Param p) {
    if (layout == WeightLayout.TIMM) {
      return List.of(p.key());
    }
    String top = TORCHVISION_TOP.get(p.key());
    if (top != null) {
      return List.of(top);
    }
    Matcher m = BLOCK.matcher(p.key());
    if (!m.matches()) {
      throw new IllegalStateException("no torchvision key for " + p.key());
    }
    String prefix = "encoder.layers.encoder_layer_" + m.group(1) + ".";
    String rest = m.group(2);
    if (rest.startsWith("mlp.fc1.")) {
      String suffix = rest.substring("mlp.fc1.".length());
      return List.of(prefix + "mlp.0." + suffix, prefix + "mlp.linear_1." + suffix);
    }
    if (rest.startsWith("mlp.fc2.")) {
      String suffix = rest.substring("mlp.fc2.".length());
      return List.of(prefix + "mlp.3." + suffix, prefix + "mlp.linear_2." + suffix);
    }
    return List.of(prefix + TORCHVISION_BLOCK.get(rest));
  }

  /** The classifier, which a feature encoder does not have. */
  static boolean isClassifier(WeightLayout layout, String key) {
    return layout == WeightLayout.TIMM ? key.startsWith("head.") : key.startsWith("heads.");
  }

  /** PyTorch's shape of a parameter. */
  static long[] layoutShape(Param p) {
    long[] s = p.shape();
    return switch (p.kind()) {
      case PLAIN -> s.clone();
      case LINEAR -> new long[] {s[1], s[0]};
      case CONV -> new long[] {s[3], s[2], s[0], s[1]};
    };
  }

  static INDArray toLayout(Param p, INDArray ours) {
    INDArray a = switch (p.kind()) {
      case PLAIN -> ours;
      case LINEAR -> ours.transpose();
      case CONV -> ours.permute(3, 2, 0, 1);   // YXIO -> OIYX
    };
    return a.dup('c');
  }

  static INDArray fromLayout(Param p, INDArray theirs) {
    INDArray a = switch (p.kind()) {
      case PLAIN -> theirs;
      case LINEAR -> theirs.transpose();
      case CONV -> theirs.permute(2, 3, 1, 0);  // OIYX -> YXIO
    };
    return a;
  }

  static Map<String, INDArray> exportFrom(VisionTransformer vit, SameDiff sd, WeightLayout layout) {
    Map<String, INDArray> out = new LinkedHashMap<>();
    for (Param p : vit.parameters()) {
      out.put(key(layout, p), toLayout(p, variableArray(vit, sd, p)));
    }
    return out;
  }

  static WeightReport importInto(
      VisionTransformer vit, SameDiff sd, Map<String, INDArray> weights, WeightLayout layout) {
    List<Param> params = vit.parameters();
    Map<String, INDArray> targets = new LinkedHashMap<>();
    for (Param p : params) {
      targets.put(p.key(), variableArray(vit, sd, p));
    }
    WeightReport.Builder r = WeightReport.builder("for " + vit.name() + " (" + layout + " layout)");
    Map<Param, INDArray> found = new LinkedHashMap<>();
    java.util.Set<String> used = new java.util.HashSet<>();
    for (Param p : params) {
      long[] expected = layoutShape(p);
      String hit = null;
      for (String k : keys(layout, p)) {
        if (weights.containsKey(k)) {
          hit = k;
          break;
        }
      }
      if (hit == null) {
        r.missing(key(layout, p), expected);
        continue;
      }
      used.add(hit);
      INDArray a = weights.get(hit);
      if (p.key().equals("pos_embed")) {
        a = resampledIfOtherGrid(vit, hit, a);
      }
      if (!WeightReport.fits(expected, a)) {
        r.mismatched(hit, expected, a);
        continue;
      }
      r.loaded(hit);
      found.put(p, a);
    }
    for (String k : weights.keySet()) {
      if (used.contains(k)) {
        continue;
      }
      if (isClassifier(layout, k)) {
        r.ignored(k);
      } else {
        r.unexpected(k);
      }
    }
    WeightReport report = r.build().requireComplete();
    if (!report.unexpected().isEmpty()) {
      LOG.warn("{}", report);
    }
    for (Map.Entry<Param, INDArray> e : found.entrySet()) {
      INDArray target = targets.get(e.getKey().key());
      target.assign(fromLayout(e.getKey(), e.getValue()).castTo(target.dataType()));
    }
    return report;
  }

  /**
   * A position embedding from a checkpoint trained at another resolution, resampled to this
   * model's grid (timm's {@code checkpoint_filter_fn} does the same on load). A checkpoint does
   * not record its grid, so, as timm, a square source grid is assumed: the token count less the
   * class token must be a perfect square. Anything else is returned as found, for the shape
   * check to report; a non-square source can be resampled first with {@link
   * VisionTransformer#resamplePositionEmbedding}.
   */
  private static INDArray resampledIfOtherGrid(VisionTransformer vit, String key, INDArray a) {
    if (a == null || a.rank() != 3 || a.size(0) != 1 || a.size(2) != vit.width() || !a.dataType().isFPType()
        || a.size(1) == vit.tokenCount() || a.size(1) < 2) {
      return a;
    }
    long grid = a.size(1) - 1;
    int side = (int) Math.round(Math.sqrt(grid));
    if ((long) side * side != grid) {
      return a;
    }
    int newH = vit.imageHeight() / vit.patchSize();
    int newW = vit.imageWidth() / vit.patchSize();
    LOG.info("Resampling '{}' bicubically from a {}x{} to a {}x{} patch grid ({} -> {} tokens)",
        key, side, side, newH, newW, a.size(1), vit.tokenCount());
    return PositionEmbeddings.resample(a, side, side, newH, newW);
  }

  private static INDArray variableArray(VisionTransformer vit, SameDiff sd, Param p) {
    String name = vit.variableName(p);
    SDVariable v = sd.hasVariable(name) ? sd.getVariable(name) : null;
    INDArray a = v == null ? null : v.getArr();
    if (a == null || !Arrays.equals(a.shape(), p.shape())) {
      throw new IllegalStateException(
          "sd: expected variable '" + name + "' of shape " + Arrays.toString(p.shape())
              + " defined by this model's define(), found "
              + (a == null ? "none" : Arrays.toString(a.shape())));
    }
    return a;
  }
}
