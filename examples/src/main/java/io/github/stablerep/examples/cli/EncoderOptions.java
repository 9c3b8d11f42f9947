package io.github.stablerep.examples.cli;

import io.github.stablerep.eval.EvalPreprocessing;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/** The encoder and its evaluation transform, shared by {@code embed} and {@code probe}. */
final class EncoderOptions {

  @Spec(Spec.Target.MIXEE) CommandSpec spec;

  @Option(names = "--checkpoint", paramLabel = "FILE",
      description = "A training checkpoint from 'pretrain' (its ViT is used; give this or --weights).")
  Path checkpoint;

  @Option(names = "--weights", paramLabel = "FILE",
      description = "timm-layout ViT safetensors (a timm checkpoint or an 'export' file; give this or --checkpoint).")
  Path weights;

  @Option(names = "--config", paramLabel = "FILE",
      description = "Files that store no ViT config only (timm's own files, checkpoints from before configs were"
          + " stored): the ViT's config JSON as VisionTransformer.toConfig() writes it; absent fields take the"
          + " defaults, so {\"preset\": \"B_16\"} describes timm's vit_base_patch16_224.")
  Path config;

  @Option(names = "--image-size", paramLabel = "PX",
      description = "Input size of the encoder (default: the size it was trained at; another size resamples the"
          + " position embedding as timm does).")
  Integer imageSize;

  @Option(names = "--resize", paramLabel = "PX",
      description = "Short side before the centre crop (default: image size x 256/224, rounded).")
  Integer resize;

  @Option(names = "--interpolation", defaultValue = "BILINEAR", paramLabel = "MODE",
      description = "Resize filter: ${COMPLETION-CANDIDATES} (BILINEAR is StableRep's evaluation).")
  EvalPreprocessing.Interpolation interpolation;

  @Option(names = "--pooling", defaultValue = "token", paramLabel = "KIND",
      description = "Feature: 'token' (the class token after the final norm, StableRep) or 'mean' (patch tokens).")
  String pooling;

  @Option(names = "--batch", defaultValue = "32", paramLabel = "N", description = "Images per forward pass.")
  int batch;

  boolean given() {
    return checkpoint != null || weights != null;
  }

  /** Loads the encoder; usage errors name the option. */
  Encoders.Encoder load() throws IOException {
    if ((checkpoint == null) == (weights == null)) {
      throw new ParameterException(spec.commandLine(), checkpoint == null
          ? "expected an encoder: --checkpoint FILE or --weights FILE, found neither"
          : "expected one encoder: --checkpoint or --weights, found both");
    }
    if (!"token".equals(pooling) && !"mean".equals(pooling)) {
      throw new ParameterException(spec.commandLine(), "--pooling: expected 'token' or 'mean', found '" + pooling + "'");
    }
    if (batch < 1) {
      throw new ParameterException(spec.commandLine(), "--batch: expected >= 1, found " + batch);
    }
    Path file = checkpoint != null ? checkpoint : weights;
    if (!Files.isRegularFile(file)) {
      throw new ParameterException(spec.commandLine(), (checkpoint != null ? "--checkpoint" : "--weights")
          + ": expected an existing file, found " + file + (Files.isDirectory(file) ? " (a folder)" : " (no such file)"));
    }
    String legacyConfig = null;
    if (config != null) {
      if (!Files.isRegularFile(config)) {
        throw new ParameterException(spec.commandLine(), "--config: expected an existing file, found " + config);
      }
      legacyConfig = Files.readString(config);
    }
    Encoders.TimmWeights w = checkpoint != null
        ? Encoders.fromCheckpoint(checkpoint, null, legacyConfig)
        : Encoders.fromTimm(weights, legacyConfig);
    return Encoders.encoder(w, imageSize, "mean".equals(pooling));
  }

  /** The evaluation transform for an encoder of input size {@code size}. */
  EvalPreprocessing preprocessing(int size) {
    int shortSide = resize != null ? resize : (int) Math.round(size * 256.0 / 224.0);
    if (shortSide < size) {
      throw new ParameterException(spec.commandLine(), "--resize: expected >= the image size " + size + ", found "
          + shortSide);
    }
    return EvalPreprocessing.builder().resizeShortSide(shortSide).cropSize(size).interpolation(interpolation).build();
  }
}
