package io.github.stablerep.models.diffusion;

import static com.google.common.base.Preconditions.checkArgument;

import com.google.common.collect.ImmutableList;
import io.github.stablerep.core.io.StrictJson;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.math.BigDecimal;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * One component's {@code config.json} (or {@code scheduler_config.json}) from a diffusers model
 * folder, read-only. Diffusers configs carry many fields a given component ignores, so unknown
 * keys are allowed; a known key with the wrong type fails with the file, the key, the expected
 * and the found type. Getters with a default mirror diffusers' own constructor defaults, which
 * apply when a key is absent or JSON {@code null}.
 *
 * <p>Parsed with {@link StrictJson#parsePythonJson}: Python's json writes {@code float('-inf')}
 * as {@code -Infinity}, and diffusers saves DPM-Solver configs with {@code "lambda_min_clipped":
 * -Infinity}, so the non-standard literals parse; a key given twice is an error (Python keeps
 * the last silently); nesting is bounded by {@value #MAX_DEPTH}.
 */
public final class DiffusersConfig {
  /** Diffusers configs nest at most a few levels (lists of lists); deeper text is hostile. */
  static final int MAX_DEPTH = 16;

  private final String source;
  private final Map<String, Object> root;

  private DiffusersConfig(String source, Map<String, Object> root) {
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
  @SuppressWarnings("unchecked")
  public static DiffusersConfig parse(String json, String source) {
    checkArgument(json != null, "json: expected JSON text, found null");
    Object node;
    try {
      node = StrictJson.parsePythonJson(json, MAX_DEPTH);
    } catch (StrictJson.SyntaxException e) {
      throw new IllegalArgumentException(
          "config " + source + ": expected a JSON object, found malformed JSON (" + e.getMessage() + ")", e);
    }
    checkArgument(node instanceof Map,
        "config %s: expected a JSON object at the top level, found %s", source, nodeType(node));
    return new DiffusersConfig(source, (Map<String, Object>) node);
  }

  /** Where this config came from, for messages. */
  public String source() {
    return source;
  }

  /** Whether the key is present with a non-null value. */
  public boolean has(String key) {
    Object n = root.get(key);
    return n != null && n != StrictJson.NULL;
  }

  /** The keys present, in file order. */
  public List<String> keys() {
    return new ArrayList<>(root.keySet());
  }

  public int getInt(String key, int defaultValue) {
    return has(key) ? getInt(key) : defaultValue;
  }

  public int getInt(String key) {
    Object n = required(key);
    Long v = StrictJson.exactLong(n);
    if (v == null || v != v.intValue()) {
      throw typeError(key, "an integer", n);
    }
    return v.intValue();
  }

  public long getLong(String key, long defaultValue) {
    if (!has(key)) {
      return defaultValue;
    }
    Object n = root.get(key);
    Long v = StrictJson.exactLong(n);
    if (v == null) {
      throw typeError(key, "an integer", n);
    }
    return v;
  }

  public double getDouble(String key, double defaultValue) {
    return has(key) ? getDouble(key) : defaultValue;
  }

  public double getDouble(String key) {
    Object n = required(key);
    if (!isNumber(n)) {
      throw typeError(key, "a number", n);
    }
    return ((Number) n).doubleValue();
  }

  public boolean getBoolean(String key, boolean defaultValue) {
    if (!has(key)) {
      return defaultValue;
    }
    Object n = root.get(key);
    if (!(n instanceof Boolean)) {
      throw typeError(key, "true or false", n);
    }
    return (Boolean) n;
  }

  public String getString(String key, String defaultValue) {
    return has(key) ? getString(key) : defaultValue;
  }

  public String getString(String key) {
    Object n = required(key);
    if (!(n instanceof String)) {
      throw typeError(key, "a string", n);
    }
    return (String) n;
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
    Object n = required(key);
    ImmutableList.Builder<Integer> out = ImmutableList.builder();
    Long scalar = StrictJson.exactLong(n);
    if (scalar != null && broadcastTo > 0) {
      if (scalar != scalar.intValue()) {
        throw typeError(key, "a list of integers", n);
      }
      for (int i = 0; i < broadcastTo; i++) {
        out.add(scalar.intValue());
      }
      return out.build();
    }
    if (!(n instanceof List)) {
      throw typeError(key, "a list of integers", n);
    }
    for (Object e : (List<?>) n) {
      Long v = StrictJson.exactLong(e);
      if (v == null || v != v.intValue()) {
        throw typeError(key, "a list of integers", n);
      }
      out.add(v.intValue());
    }
    ImmutableList<Integer> list = out.build();
    checkArgument(broadcastTo <= 0 || list.size() == broadcastTo,
        "config %s: key '%s': expected %s values (one per block), found %s", source, key, broadcastTo, list.size());
    return list;
  }

  public ImmutableList<String> getStringList(String key) {
    Object n = required(key);
    if (!(n instanceof List)) {
      throw typeError(key, "a list of strings", n);
    }
    ImmutableList.Builder<String> out = ImmutableList.builder();
    for (Object e : (List<?>) n) {
      if (!(e instanceof String)) {
        throw typeError(key, "a list of strings", n);
      }
      out.add((String) e);
    }
    return out.build();
  }

  /** A list of numbers, such as {@code trained_betas}. */
  public double[] getDoubleArray(String key) {
    Object n = required(key);
    if (!(n instanceof List)) {
      throw typeError(key, "a list of numbers", n);
    }
    List<?> list = (List<?>) n;
    double[] out = new double[list.size()];
    for (int i = 0; i < out.length; i++) {
      if (!isNumber(list.get(i))) {
        throw typeError(key, "a list of numbers", n);
      }
      out[i] = ((Number) list.get(i)).doubleValue();
    }
    return out;
  }

  private static boolean isNumber(Object n) {
    return n instanceof BigDecimal || n instanceof Double;
  }

  private Object required(String key) {
    checkArgument(key != null, "key: expected a config key, found null");
    Object n = root.get(key);
    if (n == null || n == StrictJson.NULL) {
      throw new IllegalArgumentException(
          "config " + source + ": expected key '" + key + "', found it " + (n == null ? "missing" : "null"));
    }
    return n;
  }

  /** The JSON type in the words earlier versions of these messages used (Jackson's node types). */
  private static String nodeType(Object n) {
    if (n instanceof Map) {
      return "OBJECT";
    } else if (n instanceof List) {
      return "ARRAY";
    } else if (n instanceof String) {
      return "STRING";
    } else if (isNumber(n)) {
      return "NUMBER";
    } else if (n instanceof Boolean) {
      return "BOOLEAN";
    }
    return "NULL";
  }

  private IllegalArgumentException typeError(String key, String expected, Object found) {
    String shown = shown(found);
    if (shown.length() > 80) {
      shown = shown.substring(0, 77) + "...";
    }
    return new IllegalArgumentException(
        "config " + source + ": key '" + key + "': expected " + expected + ", found " + nodeType(found) + " " + shown);
  }

  /** Non-finite numbers have no strict JSON form; they are shown as Python writes them. */
  private static String shown(Object found) {
    if (found instanceof Double d) {
      return d.isNaN() ? "NaN" : d > 0 ? "Infinity" : "-Infinity";
    }
    try {
      return StrictJson.write(found);
    } catch (IllegalArgumentException e) {
      return String.valueOf(found);
    }
  }

  @Override
  public String toString() {
    return "DiffusersConfig[" + source + "]";
  }
}
