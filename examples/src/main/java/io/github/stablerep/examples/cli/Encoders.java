package io.github.stablerep.examples.cli;

import static com.google.common.base.Preconditions.checkArgument;

import io.github.stablerep.core.io.SafeTensors;
import io.github.stablerep.core.io.StrictJson;
import io.github.stablerep.core.train.TrainingCheckpoint;
import io.github.stablerep.models.vit.TimmVit;
import io.github.stablerep.models.vit.VisionTransformer;
import io.github.stablerep.models.vit.VitGraph;
import io.github.stablerep.models.vit.WeightLayout;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Finds a ViT in a training checkpoint or a timm-layout state dict, and its configuration.
 *
 * <p>The configuration comes from the file: a training checkpoint stores each model's {@code
 * VisionTransformer.toConfig()} under {@code config.<name>} ({@link
 * TrainingCheckpoint#modelConfigs()}), and {@code export} writes it under {@value #CONFIG_KEY} in
 * the safetensors metadata. Nothing is guessed from tensor shapes: a head count or a LayerNorm
 * epsilon leaves no trace there.
 *
 * <p><b>Legacy path.</b> Files without a config (checkpoints written before configs were
 * stored, and timm's own files) are read only with the architecture given explicitly, as a
 * config JSON ({@code --config FILE}; absent fields take the builder's defaults, e.g. {@code
 * {"preset": "B_16"}} for timm's {@code vit_base_patch16_224}). The arrays must then fit it
 * exactly. Exporting such a checkpoint once writes a file that carries its config.
 */
final class Encoders {

  /** Metadata key of the ViT's config in an exported timm-layout file. */
  static final String CONFIG_KEY = TimmVit.CONFIG_KEY;

  private Encoders() {}

  /** A timm-layout state dict and the configuration it was trained with. */
  record TimmWeights(VisionTransformer vit, Map<String, INDArray> weights) {}

  /** A ViT defined in a fresh graph, ready for {@code FeatureExtractor}. */
  record Encoder(VisionTransformer vit, SameDiff sd, String input, String output) {}

  /**
   * The ViT of a training checkpoint in timm's layout, with its configuration.
   *
   * @param prefix the ViT's name in the checkpoint, or null to find the only one
   * @param legacyConfig the ViT config to use when the checkpoint stores none (the legacy path),
   *     or null
   */
  static TimmWeights fromCheckpoint(Path file, String prefix, String legacyConfig) throws IOException {
    TrainingCheckpoint ckpt = TrainingCheckpoint.read(file);
    Map<String, INDArray> model = ckpt.model();
    Map<String, String> vits = new TreeMap<>();
    ckpt.modelConfigs().forEach((name, json) -> {
      if (VisionTransformer.CONFIG_CLASS_NAME.equals(className(json))) {
        vits.put(name, json);
      }
    });
    VisionTransformer vit;
    if (!vits.isEmpty()) {
      checkArgument(legacyConfig == null, "%s: expected no --config, as the checkpoint stores its ViT's config; "
          + "found one", file);
      String name = prefix;
      if (name == null) {
        checkArgument(vits.size() == 1, "%s: expected exactly one ViT, found %s (choose one with --prefix)", file,
            vits.keySet());
        name = vits.keySet().iterator().next();
      }
      checkArgument(vits.containsKey(name), "%s: expected a ViT named '%s', found ViT configs for %s", file, name,
          vits.keySet());
      vit = configured(file, "metadata '" + TrainingCheckpoint.CONFIG_PREFIX + name + "'", vits.get(name));
      checkArgument(vit.name().equals(name), "%s: metadata '%s%s': expected the ViT's name '%s', found '%s'", file,
          TrainingCheckpoint.CONFIG_PREFIX, name, name, vit.name());
    } else {
      checkArgument(legacyConfig != null, "%s: expected the ViT's config in the checkpoint's metadata (config.<name>,"
          + " written since configs are stored), found none: an older checkpoint. Give its architecture once with"
          + " --config FILE (a VisionTransformer config JSON, see the README's 'Checkpoints' section) and export it"
          + " to a file that carries the config", file);
      vit = configured(file, "--config", legacyConfig);
      if (prefix != null) {
        vit = vit.toBuilder().name(prefix).build();
      }
    }
    String p = vit.name() + ".";
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
    checkArgument(problems.isEmpty(), "%s: the ViT's arrays do not fit its config %s: %s", file, vit.toConfig(),
        problems);
    return new TimmWeights(vit, vit.exportWeights(sd, WeightLayout.TIMM));
  }

  /**
   * A timm-layout safetensors file: one written by {@code export} (its config is in the
   * metadata), or any other with {@code legacyConfig} giving the architecture ({@link TimmVit}).
   */
  static TimmWeights fromTimm(Path file, String legacyConfig) throws IOException {
    TimmVit.Loaded l = TimmVit.read(file, legacyConfig);
    return new TimmWeights(l.vit(), l.weights());
  }

  private static VisionTransformer configured(Path file, String where, String json) {
    return TimmVit.configured(file, where, json);
  }

  /** The config's {@code _class_name}, or null when it has none or is not an object. */
  private static String className(String json) {
    Object parsed = StrictJson.parse(json, 16);
    Object name = parsed instanceof Map ? ((Map<?, ?>) parsed).get("_class_name") : null;
    return name instanceof String ? (String) name : null;
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

  /**
   * The ViT's configuration as metadata: its full config ({@value #CONFIG_KEY}, under the name
   * "vit", which a timm-layout file's keys no longer carry), and timm's constructor arguments.
   */
  static Map<String, String> metadata(VisionTransformer vit) {
    Map<String, String> m = new LinkedHashMap<>();
    m.put("format", "pt");
    m.put("architecture", timmName(vit));
    Map<String, Object> kwargs = new LinkedHashMap<>();
    kwargs.put("img_size", vit.imageHeight() == vit.imageWidth() ? (Object) vit.imageHeight()
        : List.of(vit.imageHeight(), vit.imageWidth()));
    kwargs.put("patch_size", vit.patchSize());
    kwargs.put("embed_dim", vit.width());
    kwargs.put("depth", vit.depth());
    kwargs.put("num_heads", vit.heads());
    kwargs.put("mlp_ratio", vit.mlpRatio());
    kwargs.put("qkv_bias", vit.qkvBias());
    kwargs.put("global_pool", vit.pooling() == io.github.stablerep.models.vit.Pooling.MEAN ? "avg" : "token");
    kwargs.put("num_classes", 0);
    m.put("timm_kwargs", StrictJson.write(kwargs));
    m.put(CONFIG_KEY, vit.toBuilder().name("vit").build().toConfig());
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

  private static String preview(Map<String, INDArray> w) {
    List<String> keys = new ArrayList<>(w.keySet());
    return keys.size() <= 5 ? keys.toString() : keys.subList(0, 5) + " ... (" + keys.size() + " keys)";
  }
}
