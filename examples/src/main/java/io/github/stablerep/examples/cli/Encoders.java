package io.github.stablerep.examples.cli;

import static com.google.common.base.Preconditions.checkArgument;

import io.github.stablerep.core.train.TrainingCheckpoint;
import io.github.stablerep.models.vit.VisionTransformer;
import io.github.stablerep.models.vit.VitGraph;
import io.github.stablerep.models.vit.WeightLayout;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Finds a ViT in a training checkpoint or a timm state dict and rebuilds its configuration.
 *
 * <p>Neither file format stores a full ViT configuration, so the shapes say what they can:
 * width (class token), patch size (patch convolution), depth (the block indices), MLP width
 * (fc1), qkv bias (present or not) and the image size (position embedding, a square grid
 * assumed as timm does). The head count and LayerNorm epsilon leave no trace in the shapes:
 * they come from the checkpoint's metadata ({@value #HEADS_KEY}, {@value #EPS_KEY}, also read
 * from an export's metadata), else from the command line, else timm's conventions (64 channels
 * per head, as every standard ViT; eps 1e-6).
 */
final class Encoders {

  /** Metadata key of the head count, written by {@code export} and read back from checkpoints. */
  static final String HEADS_KEY = io.github.stablerep.models.vit.TimmVit.HEADS_KEY;
  /** Metadata key of the LayerNorm epsilon. */
  static final String EPS_KEY = io.github.stablerep.models.vit.TimmVit.EPS_KEY;

  /** The metadata entry where {@code Pretrainer} records its configuration. */
  private static final String FINGERPRINT = "pretrainer.fingerprint";
  private static final Pattern FINGERPRINT_VIT = Pattern.compile("vit=VisionTransformer\\{([^}]*)\\}");

  private Encoders() {}

  /** A timm-layout state dict and the configuration it was trained with. */
  record TimmWeights(VisionTransformer vit, Map<String, INDArray> weights) {}

  /** A ViT defined in a fresh graph, ready for {@code FeatureExtractor}. */
  record Encoder(VisionTransformer vit, SameDiff sd, String input, String output) {}

  /**
   * The ViT of a training checkpoint in timm's layout, with its configuration.
   *
   * @param prefix the ViT's variable prefix in the checkpoint, or null to find the only one
   * @param heads the head count, or null for the checkpoint's metadata or width / 64
   * @param eps the LayerNorm epsilon, or null for the checkpoint's metadata or 1e-6
   */
  static TimmWeights fromCheckpoint(Path file, String prefix, Integer heads, Double eps) throws IOException {
    TrainingCheckpoint ckpt = TrainingCheckpoint.read(file);
    Map<String, INDArray> model = ckpt.model();
    String name = prefix != null ? prefix : findPrefix(file, model);
    Map<String, INDArray> ours = new LinkedHashMap<>();
    String p = name + ".";
    model.forEach((k, v) -> {
      if (k.startsWith(p)) {
        ours.put(k.substring(p.length()), v);
      }
    });
    checkArgument(ours.containsKey("cls_token"), "%s: expected a ViT named '%s' (a tensor model/%scls_token), "
        + "found none", file, name, p);
    Map<String, String> meta = withFingerprint(ckpt.metadata());
    VisionTransformer vit = infer(file, ours, false, name, orMeta(heads, meta, HEADS_KEY, Integer::valueOf),
        orMeta(eps, meta, EPS_KEY, Double::valueOf));
    SameDiff sd = SameDiff.create();
    vit.define(sd, sd.placeHolder("images", vit.dataType(), -1, 3, vit.imageHeight(), vit.imageWidth()));
    List<String> problems = new ArrayList<>();
    for (SDVariable v : sd.variables()) {
      if (!v.name().startsWith(p) || v.isPlaceHolder() || v.getArr() == null) {
        continue;
      }
      INDArray src = model.get(v.name());
      if (src == null) {
        problems.add("'" + v.name() + "' missing");
      } else if (!Arrays.equals(src.shape(), v.getArr().shape())) {
        problems.add("'" + v.name() + "' expected " + Arrays.toString(v.getArr().shape()) + ", found "
            + Arrays.toString(src.shape()));
      } else {
        v.getArr().assign(src.castTo(v.getArr().dataType()));
      }
    }
    checkArgument(problems.isEmpty(), "%s: the ViT's arrays do not fit %s: %s", file, vit, problems);
    return new TimmWeights(vit, vit.exportWeights(sd, WeightLayout.TIMM));
  }

  /** A timm-layout safetensors file (a timm checkpoint, or one written by {@code export}). */
  static TimmWeights fromTimm(Path file, Integer heads, Double eps) throws IOException {
    io.github.stablerep.models.vit.TimmVit.Loaded l = io.github.stablerep.models.vit.TimmVit.read(file, heads, eps);
    return new TimmWeights(l.vit(), l.weights());
  }

  /** Defines the ViT at {@code imageSize} (null: as trained) and loads the weights (resampling pos_embed). */
  static Encoder encoder(TimmWeights w, Integer imageSize, boolean meanPooling) {
    VisionTransformer.Builder b = w.vit().toBuilder().name("vit");
    if (imageSize != null) {
      b.imageSize(imageSize);
    }
    if (meanPooling) {
      b.pooling(io.github.stablerep.models.vit.Pooling.MEAN);
    }
    VisionTransformer vit = b.build();
    SameDiff sd = SameDiff.create();
    SDVariable images = sd.placeHolder("images", DataType.FLOAT, -1, 3, vit.imageHeight(), vit.imageWidth());
    VitGraph g = vit.define(sd, images);
    vit.importWeights(sd, w.weights(), WeightLayout.TIMM);
    return new Encoder(vit, sd, images.name(), g.pooled().name());
  }

  /** The ViT's configuration as metadata: timm's constructor arguments plus what they cannot say. */
  static Map<String, String> metadata(VisionTransformer vit) {
    Map<String, String> m = new LinkedHashMap<>();
    m.put("format", "pt");
    m.put("architecture", timmName(vit));
    m.put("timm_kwargs", String.format(Locale.ROOT, "{\"img_size\": %d, \"patch_size\": %d, \"embed_dim\": %d, "
        + "\"depth\": %d, \"num_heads\": %d, \"mlp_ratio\": %s, \"qkv_bias\": %s, \"global_pool\": \"%s\", "
        + "\"num_classes\": 0}", vit.imageHeight(), vit.patchSize(), vit.width(), vit.depth(), vit.heads(),
        Double.toString(vit.mlpRatio()), vit.qkvBias(),
        vit.pooling() == io.github.stablerep.models.vit.Pooling.MEAN ? "avg" : "token"));
    m.put(HEADS_KEY, Integer.toString(vit.heads()));
    m.put(EPS_KEY, Double.toString(vit.layerNormEps()));
    m.put("vit.image_size", vit.imageHeight() + "x" + vit.imageWidth());
    return m;
  }

  /** timm's registered name when the configuration is one of the standard ViTs at 224. */
  static String timmName(VisionTransformer v) {
    if (v.patchSize() == 16 && v.imageHeight() == 224 && v.imageWidth() == 224 && v.mlpRatio() == 4.0
        && v.qkvBias() && v.layerNormEps() == 1e-6) {
      String size = switch (v.width() + "/" + v.depth() + "/" + v.heads()) {
        case "192/12/3" -> "tiny";
        case "384/12/6" -> "small";
        case "768/12/12" -> "base";
        case "1024/24/16" -> "large";
        default -> null;
      };
      if (size != null) {
        return "vit_" + size + "_patch16_224";
      }
    }
    return "vision_transformer";
  }

  /**
   * Checkpoints written before the Pretrainer stored {@code vit.heads} and {@code
   * vit.layer_norm_eps} describe their ViT only in its configuration fingerprint ({@code
   * VisionTransformer.toString()}); the head count and epsilon are then read from that.
   */
  private static Map<String, String> withFingerprint(Map<String, String> meta) {
    Map<String, String> m = new LinkedHashMap<>(meta);
    Matcher vit = FINGERPRINT_VIT.matcher(meta.getOrDefault(FINGERPRINT, ""));
    if (vit.find()) {
      Matcher h = Pattern.compile("\\bheads=(\\d+)").matcher(vit.group(1));
      if (h.find()) {
        m.putIfAbsent(HEADS_KEY, h.group(1));
      }
      Matcher e = Pattern.compile("\\blayerNormEps=([0-9.eE+-]+)").matcher(vit.group(1));
      if (e.find()) {
        m.putIfAbsent(EPS_KEY, e.group(1));
      }
    }
    return m;
  }

  private static String findPrefix(Path file, Map<String, INDArray> model) {
    TreeSet<String> prefixes = new TreeSet<>();
    for (String k : model.keySet()) {
      if (k.endsWith(".cls_token")) {
        prefixes.add(k.substring(0, k.length() - ".cls_token".length()));
      }
    }
    checkArgument(prefixes.size() == 1, "%s: expected exactly one ViT (a tensor model/<name>.cls_token), found %s",
        file, prefixes.isEmpty() ? "none" : prefixes + " (choose one with --prefix)");
    return prefixes.first();
  }

  private static VisionTransformer infer(Path file, Map<String, INDArray> w, boolean timmLayout, String name,
      Integer heads, Double eps) {
    return io.github.stablerep.models.vit.TimmVit.infer(file, w, timmLayout, name, heads, eps);
  }

  private static <T> T orMeta(T given, Map<String, String> meta, String key,
      java.util.function.Function<String, T> parse) {
    return io.github.stablerep.models.vit.TimmVit.orMeta(given, meta, key, parse);
  }
}
