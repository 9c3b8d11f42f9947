package io.github.stablerep.models.diffusion;

import static com.google.common.base.Preconditions.checkArgument;

import com.google.common.collect.ImmutableList;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Optional;
import org.nd4j.shade.jackson.core.JsonParser;
import org.nd4j.shade.jackson.core.JsonProcessingException;
import org.nd4j.shade.jackson.databind.JsonNode;
import org.nd4j.shade.jackson.databind.ObjectMapper;

/**
 * One component's {@code config.json} (or {@code scheduler_config.json}) from a diffusers model
 * folder, read-only. Diffusers configs carry many fields a given component ignores, so unknown
 * keys are allowed; a known key with the wrong type fails with the file, the key, the expected
 * and the found type. Getters with a default mirror diffusers' own constructor defaults, which
 * apply when a key is absent or JSON {@code null}.
 */
public final class DiffusersConfig {
  // Python's json writes float('-inf') as -Infinity, and diffusers saves DPM-Solver configs with
  // "lambda_min_clipped": -Infinity, so the non-standard literals must parse.
  private static final ObjectMapper MAPPER =
      new ObjectMapper().enable(JsonParser.Feature.ALLOW_NON_NUMERIC_NUMBERS);

  private final String source;
  private final JsonNode root;

  private DiffusersConfig(String source, JsonNode root) {
    this.source = source;
    this.root = root;
  }

  /** Reads a config file; the file is named in every error. */
  public static DiffusersConfig read(Path file) {
    checkArgument(file != null, "file: expected a path to a config.json, found null");
    String text;
    try {
      text = Files.readString(file);
    } catch (IOException e) {
      throw new UncheckedIOException("config " + file + ": cannot be read", e);
    }
    return parse(text, file.toString());
  }

  /** Parses JSON text; {@code source} names it in errors (a path, or "inline"). */
  public static DiffusersConfig parse(String json, String source) {
    checkArgument(json != null, "json: expected JSON text, found null");
    JsonNode node;
    try {
      node = MAPPER.readTree(json);
    } catch (JsonProcessingException e) {
      throw new IllegalArgumentException(
          "config " + source + ": expected a JSON object, found malformed JSON (" + e.getOriginalMessage() + ")", e);
    }
    checkArgument(node != null && node.isObject(),
        "config %s: expected a JSON object at the top level, found %s", source, node == null ? "nothing" : node.getNodeType());
    return new DiffusersConfig(source, node);
  }

  /** Where this config came from, for messages. */
  public String source() {
    return source;
  }

  /** Whether the key is present with a non-null value. */
  public boolean has(String key) {
    JsonNode n = root.get(key);
    return n != null && !n.isNull();
  }

  /** The keys present, in file order. */
  public List<String> keys() {
    List<String> keys = new ArrayList<>();
    for (Iterator<String> it = root.fieldNames(); it.hasNext(); ) {
      keys.add(it.next());
    }
    return keys;
  }

  public int getInt(String key, int defaultValue) {
    return has(key) ? getInt(key) : defaultValue;
  }

  public int getInt(String key) {
    JsonNode n = required(key);
    if (!n.isIntegralNumber() || !n.canConvertToInt()) {
      throw typeError(key, "an integer", n);
    }
    return n.intValue();
  }

  public long getLong(String key, long defaultValue) {
    if (!has(key)) {
      return defaultValue;
    }
    JsonNode n = root.get(key);
    if (!n.isIntegralNumber() || !n.canConvertToLong()) {
      throw typeError(key, "an integer", n);
    }
    return n.longValue();
  }

  public double getDouble(String key, double defaultValue) {
    return has(key) ? getDouble(key) : defaultValue;
  }

  public double getDouble(String key) {
    JsonNode n = required(key);
    if (!n.isNumber()) {
      throw typeError(key, "a number", n);
    }
    return n.doubleValue();
  }

  public boolean getBoolean(String key, boolean defaultValue) {
    if (!has(key)) {
      return defaultValue;
    }
    JsonNode n = root.get(key);
    if (!n.isBoolean()) {
      throw typeError(key, "true or false", n);
    }
    return n.booleanValue();
  }

  public String getString(String key, String defaultValue) {
    return has(key) ? getString(key) : defaultValue;
  }

  public String getString(String key) {
    JsonNode n = required(key);
    if (!n.isTextual()) {
      throw typeError(key, "a string", n);
    }
    return n.textValue();
  }

  /** An optional string (absent or null gives empty). */
  public Optional<String> findString(String key) {
    return has(key) ? Optional.of(getString(key)) : Optional.empty();
  }

  /**
   * A list of integers. Diffusers allows a single integer where a per-block list is expected
   * (for example {@code attention_head_dim}); {@code broadcastTo} > 0 repeats such a scalar that
   * many times, and checks a list's length against it.
   */
  public ImmutableList<Integer> getIntList(String key, int broadcastTo) {
    JsonNode n = required(key);
    ImmutableList.Builder<Integer> out = ImmutableList.builder();
    if (n.isIntegralNumber() && broadcastTo > 0) {
      for (int i = 0; i < broadcastTo; i++) {
        out.add(n.intValue());
      }
      return out.build();
    }
    if (!n.isArray()) {
      throw typeError(key, "a list of integers", n);
    }
    for (JsonNode e : n) {
      if (!e.isIntegralNumber() || !e.canConvertToInt()) {
        throw typeError(key, "a list of integers", n);
      }
      out.add(e.intValue());
    }
    ImmutableList<Integer> list = out.build();
    checkArgument(broadcastTo <= 0 || list.size() == broadcastTo,
        "config %s: key '%s': expected %s values (one per block), found %s", source, key, broadcastTo, list.size());
    return list;
  }

  public ImmutableList<String> getStringList(String key) {
    JsonNode n = required(key);
    if (!n.isArray()) {
      throw typeError(key, "a list of strings", n);
    }
    ImmutableList.Builder<String> out = ImmutableList.builder();
    for (JsonNode e : n) {
      if (!e.isTextual()) {
        throw typeError(key, "a list of strings", n);
      }
      out.add(e.textValue());
    }
    return out.build();
  }

  /** A list of numbers, such as {@code trained_betas}. */
  public double[] getDoubleArray(String key) {
    JsonNode n = required(key);
    if (!n.isArray()) {
      throw typeError(key, "a list of numbers", n);
    }
    double[] out = new double[n.size()];
    for (int i = 0; i < out.length; i++) {
      if (!n.get(i).isNumber()) {
        throw typeError(key, "a list of numbers", n);
      }
      out[i] = n.get(i).doubleValue();
    }
    return out;
  }

  private JsonNode required(String key) {
    checkArgument(key != null, "key: expected a config key, found null");
    JsonNode n = root.get(key);
    if (n == null || n.isNull()) {
      throw new IllegalArgumentException(
          "config " + source + ": expected key '" + key + "', found it " + (n == null ? "missing" : "null"));
    }
    return n;
  }

  private IllegalArgumentException typeError(String key, String expected, JsonNode found) {
    String shown = found.toString();
    if (shown.length() > 80) {
      shown = shown.substring(0, 77) + "...";
    }
    return new IllegalArgumentException(
        "config " + source + ": key '" + key + "': expected " + expected + ", found " + found.getNodeType() + " " + shown);
  }

  @Override
  public String toString() {
    return "DiffusersConfig[" + source + "]";
  }
}
