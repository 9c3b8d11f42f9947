package io.github.stablerep.models.vit;

import static com.google.common.base.Preconditions.checkArgument;

import io.github.stablerep.core.io.SafeTensors;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * A timm-layout ViT safetensors file (the command line's {@code export}, or a timm checkpoint)
 * with its configuration. Shared by the command line's {@code embed} and stablerep-spark's
 * distributed embedding, so both read a file the same way.
 *
 * <p>The configuration comes from the file's metadata, {@value #CONFIG_KEY} (a {@link
 * VisionTransformer#toConfig()} text, which {@code export} writes), as diffusers reads a
 * component's {@code config.json}. Nothing is inferred from tensor shapes: a head count or a
 * LayerNorm epsilon leaves no trace there.
 *
 * <p><b>Legacy path.</b> A file without that entry (timm's own files, exports written before
 * configs were stored) is read only with its configuration given explicitly, a {@link
 * VisionTransformer#fromConfig} JSON: absent fields take the builder's defaults, so {@code
 * {"preset": "B_16"}} describes timm's {@code vit_base_patch16_224}. The arrays must then fit it
 * (checked by {@link VisionTransformer#importWeights}).
 */
public final class TimmVit {

  /** Metadata key of the ViT's config in a timm-layout file. */
  public static final String CONFIG_KEY = "config.vit";

  private TimmVit() {}

  /** A timm-layout state dict and the configuration it was trained with. */
  public record Loaded(VisionTransformer vit, Map<String, INDArray> weights) {}

  /**
   * Reads a timm-layout safetensors file and its ViT's configuration.
   *
   * @param legacyConfig the ViT config JSON for a file whose metadata has no {@value
   *     #CONFIG_KEY}, else null (and refused for a file that has one, as two sources could
   *     disagree)
   * @throws IllegalArgumentException naming the file when it holds no timm ViT, has no config
   *     and none is given, or its config is invalid (naming the field)
   */
  public static Loaded read(Path file, String legacyConfig) throws IOException {
    Map<String, INDArray> w = SafeTensors.read(file);
    Map<String, String> meta = SafeTensors.metadata(file);
    checkArgument(w.containsKey("cls_token") && w.containsKey("pos_embed"),
        "%s: expected timm ViT weights (cls_token, pos_embed, blocks.*), found keys %s", file, preview(w));
    String stored = meta.get(CONFIG_KEY);
    VisionTransformer vit;
    if (stored != null) {
      checkArgument(legacyConfig == null, "%s: expected no separate ViT config, as the file stores one (metadata"
          + " '%s'); found one", file, CONFIG_KEY);
      vit = configured(file, "metadata '" + CONFIG_KEY + "'", stored);
    } else {
      checkArgument(legacyConfig != null, "%s: expected the ViT's config in the file's metadata ('%s', written by"
          + " 'export'), found none: give the architecture as a config JSON (--config FILE: a VisionTransformer"
          + " config, e.g. {\"preset\": \"B_16\"} for timm's vit_base_patch16_224; see the README's 'Checkpoints'"
          + " section)", file, CONFIG_KEY);
      vit = configured(file, "config", legacyConfig);
    }
    return new Loaded(vit.toBuilder().name("vit").build(), w);
  }

  /** {@link VisionTransformer#fromConfig} with the file and the config's origin in any error. */
  public static VisionTransformer configured(Object file, String where, String json) {
    try {
      return VisionTransformer.fromConfig(json);
    } catch (IllegalArgumentException e) {
      throw new IllegalArgumentException(file + ": " + where + ": " + e.getMessage(), e);
    }
  }

  private static String preview(Map<String, INDArray> w) {
    List<String> keys = new ArrayList<>(w.keySet());
    return keys.size() <= 5 ? keys.toString() : keys.subList(0, 5) + " ... (" + keys.size() + " keys)";
  }
}
