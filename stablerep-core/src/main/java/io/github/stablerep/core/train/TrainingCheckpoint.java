package io.github.stablerep.core.train;

import static com.google.common.base.Preconditions.checkArgument;

import io.github.stablerep.core.io.SafeTensors;
import io.github.stablerep.core.io.SafeTensorsException;
import io.github.stablerep.core.io.StrictJson;
import io.github.stablerep.core.optim.AdamW;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.autodiff.samediff.VariableType;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * A whole training state in one safetensors file: the model's arrays, {@link
 * AdamW#exportState()}, the step and epoch counters and an RNG seed, plus free-form metadata.
 *
 * <p>Layout: tensors {@code model/<name>} and {@code optimizer/<key>} (each in its own data type,
 * so nothing is rounded), and {@code __metadata__} with {@value #FORMAT_KEY} = {@value #FORMAT},
 * {@code step}, {@code epoch}, {@code rng_seed}, each model's config under {@code config.<name>}
 * and the caller's entries under {@code user.}.
 * Writing goes through {@link SafeTensors#write(Path, Map, Map)}: a temporary file moved over
 * the target, so a run killed while saving leaves the previous checkpoint intact.
 *
 * <p><b>Bit-for-bit resume.</b> Model arrays and optimiser moments are stored exactly; AdamW
 * restores its per-parameter and global step counts (so the learning-rate schedule continues).
 * Randomness must be a function of (seed, step), e.g. {@code new SplittableRandom(seed).split()}
 * chains re-derived from the step, or {@code SimClrAugmentation.apply(batch, seed + step)}: a
 * {@link java.util.Random}'s internal state cannot be read back, so the checkpoint stores the
 * seed, not a generator. Resuming on another backend (CPU vs CUDA, another BLAS) keeps the state
 * exact but not the arithmetic that follows.
 *
 * <p>For SameDiff models, {@link #capture} takes every {@code VARIABLE} and {@code CONSTANT}
 * array: constants hold state such as BatchNorm running statistics that training changes.
 *
 * <p><b>Model configs.</b> As diffusers keeps a {@code config.json} beside each component's
 * weights and timm a {@code pretrained_cfg}, a checkpoint carries the JSON config of each model
 * whose arrays it holds ({@link Builder#modelConfig}, e.g. {@code VisionTransformer.toConfig()}
 * under the ViT's name), so that a reader rebuilds the architecture from the file alone instead
 * of guessing it from tensor shapes. The configs are checked to be JSON objects when written and
 * when read; their fields are the model's business.
 *
 * <p>Immutable (arrays are copied in and out).
 */
public final class TrainingCheckpoint {

  public static final String FORMAT_KEY = "format";
  public static final String FORMAT = "stablerep4j-training-checkpoint/1";
  static final String MODEL = "model/";
  static final String OPTIMIZER = "optimizer/";
  static final String USER = "user.";
  /** Metadata prefix of the model configs: {@code config.<name>}. */
  public static final String CONFIG_PREFIX = "config.";
  /** Model configs are flat or nearly so; deeper nesting is refused as hostile. */
  private static final int CONFIG_MAX_DEPTH = 16;

  private final Map<String, INDArray> model;
  private final Map<String, INDArray> optimizerState;
  private final long step;
  private final long epoch;
  private final long rngSeed;
  private final Map<String, String> metadata;
  private final Map<String, String> modelConfigs;

  private TrainingCheckpoint(Builder b) {
    this.model = copy(b.model);
    this.optimizerState = copy(b.optimizerState);
    this.step = b.step;
    this.epoch = b.epoch;
    this.rngSeed = b.rngSeed;
    this.metadata = Collections.unmodifiableMap(new LinkedHashMap<>(b.metadata));
    this.modelConfigs = Collections.unmodifiableMap(new LinkedHashMap<>(b.modelConfigs));
  }

  public static Builder builder() {
    return new Builder();
  }

  public Builder toBuilder() {
    return new Builder()
        .model(model)
        .optimizerState(optimizerState)
        .step(step)
        .epoch(epoch)
        .rngSeed(rngSeed)
        .metadata(metadata)
        .modelConfigs(modelConfigs);
  }

  /**
   * A builder holding {@code sd}'s {@code VARIABLE} and {@code CONSTANT} arrays and {@code
   * optimizer}'s state; set the counters and seed, then {@code build()}.
   */
  public static Builder capture(SameDiff sd, AdamW optimizer) {
    checkArgument(sd != null, "sd: expected a SameDiff instance, found null");
    checkArgument(optimizer != null, "optimizer: expected an AdamW, found null");
    return builder().model(stateArrays(sd)).optimizerState(optimizer.exportState());
  }

  private static Map<String, INDArray> stateArrays(SameDiff sd) {
    Map<String, INDArray> arrays = new LinkedHashMap<>();
    for (SDVariable v : sd.variables()) {
      VariableType t = v.getVariableType();
      if ((t == VariableType.VARIABLE || t == VariableType.CONSTANT) && v.getArr() != null) {
        arrays.put(v.name(), v.getArr());
      }
    }
    return arrays;
  }

  /**
   * Writes the checkpoint atomically (see the class comment).
   *
   * @throws IOException if writing fails; an existing file at {@code path} is then untouched
   */
  public void write(Path path) throws IOException {
    checkArgument(path != null, "path: expected a file path, found null");
    Map<String, INDArray> tensors = new LinkedHashMap<>();
    model.forEach((k, v) -> tensors.put(MODEL + k, v));
    optimizerState.forEach((k, v) -> tensors.put(OPTIMIZER + k, v));
    Map<String, String> meta = new LinkedHashMap<>();
    meta.put(FORMAT_KEY, FORMAT);
    meta.put("step", Long.toString(step));
    meta.put("epoch", Long.toString(epoch));
    meta.put("rng_seed", Long.toString(rngSeed));
    modelConfigs.forEach((k, v) -> meta.put(CONFIG_PREFIX + k, v));
    metadata.forEach((k, v) -> meta.put(USER + k, v));
    SafeTensors.write(path, tensors, meta);
  }

  /**
   * Reads a checkpoint written by {@link #write}.
   *
   * @throws SafeTensorsException if the file is truncated or malformed, or is not a training
   *     checkpoint (no {@value #FORMAT_KEY} = {@value #FORMAT}, a missing, negative or non-integer counter,
   *     a tensor outside {@code model/} and {@code optimizer/}, a model config that is not a JSON
   *     object); the message names the file
   * @throws IOException if it cannot be read
   */
  public static TrainingCheckpoint read(Path path) throws IOException {
    checkArgument(path != null, "path: expected a file path, found null");
    Map<String, String> meta = SafeTensors.metadata(path);
    if (!FORMAT.equals(meta.get(FORMAT_KEY))) {
      throw new SafeTensorsException(
          path + ": expected metadata " + FORMAT_KEY + " = " + FORMAT + " (a training checkpoint), found "
              + (meta.containsKey(FORMAT_KEY) ? "'" + meta.get(FORMAT_KEY) + "'" : "no such entry"));
    }
    Map<String, INDArray> tensors = SafeTensors.read(path);
    Builder b = builder()
        .step(counter(path, meta, "step"))
        .epoch(counter(path, meta, "epoch"))
        .rngSeed(counter(path, meta, "rng_seed"));
    Map<String, INDArray> model = new LinkedHashMap<>();
    Map<String, INDArray> optimizer = new LinkedHashMap<>();
    for (Map.Entry<String, INDArray> e : tensors.entrySet()) {
      String key = e.getKey();
      if (key.startsWith(MODEL)) {
        model.put(key.substring(MODEL.length()), e.getValue());
      } else if (key.startsWith(OPTIMIZER)) {
        optimizer.put(key.substring(OPTIMIZER.length()), e.getValue());
      } else {
        throw new SafeTensorsException(
            path + ": tensor '" + key + "': expected a name starting with '" + MODEL + "' or '" + OPTIMIZER + "'");
      }
    }
    Map<String, String> user = new LinkedHashMap<>();
    Map<String, String> configs = new LinkedHashMap<>();
    for (Map.Entry<String, String> e : meta.entrySet()) {
      String k = e.getKey();
      if (k.startsWith(USER)) {
        user.put(k.substring(USER.length()), e.getValue());
      } else if (k.startsWith(CONFIG_PREFIX)) {
        try {
          checkConfig(k.substring(CONFIG_PREFIX.length()), e.getValue());
        } catch (IllegalArgumentException bad) {
          throw new SafeTensorsException(path + ": metadata '" + k + "': " + bad.getMessage(), bad);
        }
        configs.put(k.substring(CONFIG_PREFIX.length()), e.getValue());
      }
    }
    return b.model(model).optimizerState(optimizer).metadata(user).modelConfigs(configs).build();
  }

  private static long counter(Path path, Map<String, String> meta, String key) throws SafeTensorsException {
    String value = meta.get(key);
    long v;
    try {
      v = Long.parseLong(value);
    } catch (NumberFormatException e) {
      throw new SafeTensorsException(
          path + ": metadata '" + key + "': expected an integer >= 0, found " + (value == null ? "no entry" : "'" + value + "'"), e);
    }
    // checked here, not only by the builder, so a hostile file fails with the documented exception
    if (v < 0) {
      throw new SafeTensorsException(path + ": metadata '" + key + "': expected an integer >= 0, found " + v);
    }
    return v;
  }

  /**
   * Puts this state into a SameDiff and an optimiser: every model array is assigned into the
   * variable of the same name (same shape and data type), and {@code optimizer} imports the
   * optimiser state. Everything is checked first, so a mismatch changes nothing.
   *
   * @throws IllegalArgumentException listing every checkpoint array without a matching variable,
   *     every trainable variable without an array, and every shape or data-type mismatch
   */
  public void restore(SameDiff sd, AdamW optimizer) {
    checkArgument(sd != null, "sd: expected a SameDiff instance, found null");
    checkArgument(optimizer != null, "optimizer: expected an AdamW, found null");
    Map<String, INDArray> targets = stateArrays(sd);
    List<String> problems = new ArrayList<>();
    for (Map.Entry<String, INDArray> e : model.entrySet()) {
      INDArray target = targets.get(e.getKey());
      INDArray source = e.getValue();
      if (target == null) {
        problems.add("'" + e.getKey() + "': no such variable or constant in sd");
      } else if (!Arrays.equals(target.shape(), source.shape()) || target.dataType() != source.dataType()) {
        problems.add("'" + e.getKey() + "': expected " + target.dataType() + Arrays.toString(target.shape())
            + ", found " + source.dataType() + Arrays.toString(source.shape()));
      }
    }
    for (SDVariable v : sd.variables()) {
      if (v.getVariableType() == VariableType.VARIABLE && !model.containsKey(v.name())) {
        problems.add("'" + v.name() + "': trainable variable missing from the checkpoint");
      }
    }
    checkArgument(problems.isEmpty(), "checkpoint: %s problem(s): %s", problems.size(), problems);
    optimizer.importState(optimizerState);
    model.forEach((k, v) -> targets.get(k).assign(v));
  }

  /** Model arrays by name (copies). */
  public Map<String, INDArray> model() {
    return copy(model);
  }

  /** The optimiser state, as {@link AdamW#exportState()} gives it (copies). */
  public Map<String, INDArray> optimizerState() {
    return copy(optimizerState);
  }

  public long step() {
    return step;
  }

  public long epoch() {
    return epoch;
  }

  public long rngSeed() {
    return rngSeed;
  }

  /** The caller's metadata, without the {@code user.} prefix used in the file. */
  public Map<String, String> metadata() {
    return metadata;
  }

  /** Each model's JSON config by model name (e.g. {@code "vit"}), without the {@code config.} prefix. */
  public Map<String, String> modelConfigs() {
    return modelConfigs;
  }

  /** The JSON config stored for model {@code name}, if any (checkpoints written before configs were stored have none). */
  public Optional<String> modelConfig(String name) {
    return Optional.ofNullable(modelConfigs.get(name));
  }

  private static void checkConfig(String name, String json) {
    checkArgument(!name.isEmpty(), "modelConfig: expected a non-empty model name, found ''");
    Object parsed;
    try {
      parsed = StrictJson.parse(json, CONFIG_MAX_DEPTH);
    } catch (StrictJson.SyntaxException e) {
      throw new IllegalArgumentException("modelConfig '" + name + "': expected a JSON object, found malformed JSON ("
          + e.getMessage() + ")", e);
    }
    checkArgument(parsed instanceof Map, "modelConfig '%s': expected a JSON object, found %s", name,
        StrictJson.typeName(parsed));
  }

  private static Map<String, INDArray> copy(Map<String, INDArray> in) {
    Map<String, INDArray> out = new LinkedHashMap<>();
    in.forEach((k, v) -> out.put(k, v.dup()));
    return Collections.unmodifiableMap(out);
  }

  /** Empty state, counters 0, seed 0. */
  public static final class Builder {
    private Map<String, INDArray> model = Map.of();
    private Map<String, INDArray> optimizerState = Map.of();
    private long step;
    private long epoch;
    private long rngSeed;
    private Map<String, String> metadata = Map.of();
    private Map<String, String> modelConfigs = new LinkedHashMap<>();

    private Builder() {}

    /** Any named arrays: a SameDiff's variables, or a map of your own parameters. */
    public Builder model(Map<String, INDArray> model) {
      this.model = model;
      return this;
    }

    /** Normally {@link AdamW#exportState()}. */
    public Builder optimizerState(Map<String, INDArray> optimizerState) {
      this.optimizerState = optimizerState;
      return this;
    }

    /** Optimiser steps taken so far. */
    public Builder step(long step) {
      this.step = step;
      return this;
    }

    /** Completed epochs (or the epoch in progress; your convention). */
    public Builder epoch(long epoch) {
      this.epoch = epoch;
      return this;
    }

    /** The seed from which the run derives its randomness together with the step. */
    public Builder rngSeed(long rngSeed) {
      this.rngSeed = rngSeed;
      return this;
    }

    /** Free-form string entries (config, git commit, …). */
    public Builder metadata(Map<String, String> metadata) {
      this.metadata = metadata;
      return this;
    }

    /**
     * Stores model {@code name}'s JSON config (a {@code toConfig()} text) with the arrays; a
     * second call for the same name replaces the first.
     *
     * @throws IllegalArgumentException if the name is empty or the text is not a JSON object
     */
    public Builder modelConfig(String name, String json) {
      checkArgument(name != null, "modelConfig: expected a model name, found null");
      checkArgument(json != null, "modelConfig '%s': expected JSON text, found null", name);
      checkConfig(name, json);
      Map<String, String> m = new LinkedHashMap<>(modelConfigs);
      m.put(name, json);
      this.modelConfigs = m;
      return this;
    }

    /** Replaces all model configs; each is checked as by {@link #modelConfig}. */
    public Builder modelConfigs(Map<String, String> configs) {
      checkArgument(configs != null, "modelConfigs: expected a map of names to JSON, found null");
      this.modelConfigs = new LinkedHashMap<>();
      configs.forEach(this::modelConfig);
      return this;
    }

    /**
     * @throws IllegalArgumentException naming the field, the allowed range and the value found
     */
    public TrainingCheckpoint build() {
      checkArgument(model != null, "model: expected a map of arrays, found null");
      checkArgument(optimizerState != null, "optimizerState: expected a map of arrays, found null");
      checkArgument(metadata != null, "metadata: expected a map of strings, found null");
      checkArgument(step >= 0, "step: expected >= 0, found %s", step);
      checkArgument(epoch >= 0, "epoch: expected >= 0, found %s", epoch);
      for (Map.Entry<String, INDArray> e : model.entrySet()) {
        checkArgument(e.getKey() != null && e.getValue() != null, "model: expected non-null names and arrays, found %s", e);
      }
      for (Map.Entry<String, INDArray> e : optimizerState.entrySet()) {
        checkArgument(
            e.getKey() != null && e.getValue() != null, "optimizerState: expected non-null names and arrays, found %s", e);
      }
      for (Map.Entry<String, String> e : metadata.entrySet()) {
        checkArgument(e.getKey() != null && e.getValue() != null, "metadata: expected non-null keys and values, found %s", e);
      }
      return new TrainingCheckpoint(this);
    }
  }
}
