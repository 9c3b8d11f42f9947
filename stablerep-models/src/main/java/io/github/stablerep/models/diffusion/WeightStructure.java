package io.github.stablerep.models.diffusion;

import io.github.stablerep.core.io.SafeTensors;
import io.github.stablerep.core.io.SafeTensorsFile;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Compares a component's config with the structure its weights file declares (block and layer
 * counts from the key names, widths from a few shapes), reading only the safetensors header.
 * Runs before a model is built: a config that lies (1000 layers per block for a 2-layer file)
 * would otherwise build its whole graph, for seconds to minutes and gigabytes, before the
 * per-parameter check refuses it.
 */
final class WeightStructure {

  private final String config;
  private final Path file;
  private final Set<String> names;
  private final SafeTensorsFile header;

  private WeightStructure(String config, Path file, SafeTensorsFile header) {
    this.config = config;
    this.file = file;
    this.header = header;
    this.names = header.names();
  }

  /** The structure of {@code weightsFile}, to be compared with the config named {@code config}. */
  static WeightStructure of(String config, Path weightsFile) {
    try (SafeTensorsFile f = SafeTensors.open(weightsFile)) {
      return new WeightStructure(config, weightsFile, f);
    } catch (IOException e) {
      throw new UncheckedIOException("weights " + weightsFile + ": cannot be read", e);
    }
  }

  /** Distinct values of the first group of {@code regex} over the key names (legacy names included). */
  int count(String regex) {
    Pattern p = Pattern.compile(regex);
    Set<String> seen = new TreeSet<>();
    for (String n : names) {
      Matcher m = p.matcher(n);
      if (m.lookingAt()) {
        seen.add(m.group(1));
      }
    }
    return seen.size();
  }

  /** Fails unless the config's {@code key} value equals what the weights hold. */
  void expect(String key, long configured, long inWeights, String what) {
    // none at all: another naming scheme, left to the per-parameter check that names every key
    if (inWeights > 0 && configured != inWeights) {
      throw new IllegalArgumentException("config " + config + ": key '" + key + "': expected " + inWeights + " ("
          + what + " in " + file + "), found " + configured);
    }
  }

  /** The shape of {@code name}, or null when the file has no such tensor (the full check reports it later). */
  long[] shape(String name) {
    return header.contains(name) ? header.info(name).shape() : null;
  }

  void expectDim(String key, long configured, String tensor, int dim) {
    long[] s = shape(tensor);
    if (s != null && s.length > dim) {
      expect(key, configured, s[dim], "dimension " + dim + " of " + tensor + " " + Arrays.toString(s));
    }
  }

  static void checkUNet(UNet2DConditionModel m, String config, Path weightsFile) {
    WeightStructure w = of(config, weightsFile);
    w.expect("down_block_types", m.downBlockTypes().size(), w.count("down_blocks\\.(\\d+)\\."), "down blocks");
    w.expect("up_block_types", m.upBlockTypes().size(), w.count("up_blocks\\.(\\d+)\\."), "up blocks");
    List<Integer> layers = m.layersPerBlock();
    for (int i = 0; i < layers.size(); i++) {
      w.expect("layers_per_block", layers.get(i), w.count("down_blocks\\." + i + "\\.resnets\\.(\\d+)\\."),
          "resnets in down_blocks." + i);
    }
    w.expectDim("in_channels", m.inChannels(), "conv_in.weight", 1);
    w.expectDim("block_out_channels", m.blockOutChannels().get(0), "conv_in.weight", 0);
    w.expectDim("out_channels", m.outChannels(), "conv_out.weight", 0);
  }

  static void checkVae(AutoencoderKL m, String config, Path weightsFile) {
    WeightStructure w = of(config, weightsFile);
    w.expect("down_block_types", m.blockOutChannels().size(), w.count("encoder\\.down_blocks\\.(\\d+)\\."),
        "encoder down blocks");
    w.expect("layers_per_block", m.layersPerBlock(), w.count("encoder\\.down_blocks\\.0\\.resnets\\.(\\d+)\\."),
        "resnets in encoder.down_blocks.0");
    w.expectDim("in_channels", m.inChannels(), "encoder.conv_in.weight", 1);
    w.expectDim("block_out_channels", m.blockOutChannels().get(0), "encoder.conv_in.weight", 0);
    w.expectDim("latent_channels", m.latentChannels(), "post_quant_conv.weight", 0);
  }

  static void checkTextEncoder(ClipTextEncoder m, String config, Path weightsFile) {
    WeightStructure w = of(config, weightsFile);
    w.expect("num_hidden_layers", m.layers(), w.count("text_model\\.encoder\\.layers\\.(\\d+)\\."),
        "text_model.encoder.layers");
    w.expectDim("vocab_size", m.vocabSize(), "text_model.embeddings.token_embedding.weight", 0);
    w.expectDim("hidden_size", m.hiddenSize(), "text_model.embeddings.token_embedding.weight", 1);
    w.expectDim("max_position_embeddings", m.maxPositions(), "text_model.embeddings.position_embedding.weight", 0);
  }
}
