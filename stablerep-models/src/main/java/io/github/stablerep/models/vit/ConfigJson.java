package io.github.stablerep.models.vit;

import io.github.stablerep.core.io.StrictJson;
import java.math.BigDecimal;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Consumer;
import java.util.function.DoubleConsumer;
import java.util.function.IntConsumer;
import java.util.function.LongConsumer;
import java.util.function.Supplier;

/**
 * Reading and writing a model's JSON config (the {@code toConfig}/{@code fromConfig} of {@link
 * VisionTransformer} and {@link ProjectionHead}): strict where diffusers' {@code from_config} is
 * lenient, since a config here must rebuild the same model. Unknown fields are refused (a typo
 * would otherwise fall back to a default silently); absent fields take the builder's default.
 * Every error names the model, the field, what was expected and what was found.
 */
final class ConfigJson {
  /** The key of the class name, as in diffusers' config.json. */
  static final String CLASS_KEY = "_class_name";
  /** The key of the config format version; absent is read as the current one. */
  static final String VERSION_KEY = "_config_version";
  static final int VERSION = 1;
  /** A config is flat apart from small arrays (img_size). */
  private static final int MAX_DEPTH = 2;

  private final String model;
  private final Map<String, Object> fields;

  private ConfigJson(String model, Map<String, Object> fields) {
    this.model = model;
    this.fields = fields;
  }

  /** A new, ordered config of {@code model} with the class name and version first. */
  static Map<String, Object> start(String model) {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put(CLASS_KEY, model);
    m.put(VERSION_KEY, VERSION);
    return m;
  }

  /**
   * Parses {@code json} as a config of {@code model} whose fields are {@code known}.
   *
   * @throws IllegalArgumentException for malformed JSON, a non-object, another class name or
   *     version, or an unknown field
   */
  @SuppressWarnings("unchecked")
  static ConfigJson parse(String model, String json, Set<String> known) {
    if (json == null) {
      throw new IllegalArgumentException(model + " config: expected JSON text, found null");
    }
    Object root;
    try {
      root = StrictJson.parse(json, MAX_DEPTH);
    } catch (StrictJson.SyntaxException e) {
      throw new IllegalArgumentException(model + " config: expected a JSON object, found malformed JSON ("
          + e.getMessage() + ")", e);
    }
    if (!(root instanceof Map)) {
      throw new IllegalArgumentException(model + " config: expected a JSON object, found " + StrictJson.typeName(root));
    }
    ConfigJson c = new ConfigJson(model, (Map<String, Object>) root);
    if (c.has(CLASS_KEY) && !model.equals(c.string(CLASS_KEY))) {
      throw c.error(CLASS_KEY, "\"" + model + "\"", StrictJson.quote(c.string(CLASS_KEY)));
    }
    if (c.has(VERSION_KEY) && c.integer(VERSION_KEY) != VERSION) {
      throw c.error(VERSION_KEY, Integer.toString(VERSION) + " (written by this version)",
          Integer.toString(c.integer(VERSION_KEY)));
    }
    Set<String> unknown = new TreeSet<>(c.fields.keySet());
    unknown.removeAll(known);
    unknown.remove(CLASS_KEY);
    unknown.remove(VERSION_KEY);
    if (!unknown.isEmpty()) {
      throw new IllegalArgumentException(model + " config: field '" + unknown.iterator().next()
          + "': expected one of " + new TreeSet<>(known) + ", found an unknown field" + (unknown.size() > 1
              ? " (all unknown: " + unknown + ")" : ""));
    }
    return c;
  }

  /** Present and not null. */
  boolean has(String key) {
    Object v = fields.get(key);
    return v != null && v != StrictJson.NULL;
  }

  int integer(String key) {
    Long v = StrictJson.exactLong(fields.get(key));
    if (v == null || v != v.intValue()) {
      throw error(key, "an integer in [" + Integer.MIN_VALUE + ", " + Integer.MAX_VALUE + "]", shown(key));
    }
    return v.intValue();
  }

  long longValue(String key) {
    Long v = StrictJson.exactLong(fields.get(key));
    if (v == null) {
      throw error(key, "a 64-bit integer", shown(key));
    }
    return v;
  }

  double number(String key) {
    Object v = fields.get(key);
    if (!(v instanceof BigDecimal)) {
      throw error(key, "a number", shown(key));
    }
    double d = ((BigDecimal) v).doubleValue();
    if (!Double.isFinite(d)) {
      throw error(key, "a number in double range", shown(key));
    }
    return d;
  }

  boolean bool(String key) {
    Object v = fields.get(key);
    if (!(v instanceof Boolean)) {
      throw error(key, "true or false", shown(key));
    }
    return (Boolean) v;
  }

  String string(String key) {
    Object v = fields.get(key);
    if (!(v instanceof String)) {
      throw error(key, "a string", shown(key));
    }
    return (String) v;
  }

  /** {@code setter} gets the field when it is present (the builder keeps its default otherwise). */
  void ifInteger(String key, IntConsumer setter) {
    if (has(key)) {
      setter.accept(integer(key));
    }
  }

  void ifLong(String key, LongConsumer setter) {
    if (has(key)) {
      setter.accept(longValue(key));
    }
  }

  void ifNumber(String key, DoubleConsumer setter) {
    if (has(key)) {
      setter.accept(number(key));
    }
  }

  void ifBool(String key, Consumer<Boolean> setter) {
    if (has(key)) {
      setter.accept(bool(key));
    }
  }

  void ifString(String key, Consumer<String> setter) {
    if (has(key)) {
      setter.accept(string(key));
    }
  }

  /** The field as a list, or null when it is a single value. */
  List<?> listOrNull(String key) {
    Object v = fields.get(key);
    return v instanceof List ? (List<?>) v : null;
  }

  /** One of {@code allowed}, as a string. */
  String oneOf(String key, List<String> allowed) {
    String s = string(key);
    if (!allowed.contains(s)) {
      throw error(key, "one of " + allowed, StrictJson.quote(s));
    }
    return s;
  }

  /** The field's value as JSON, for messages. */
  String shown(String key) {
    Object v = fields.get(key);
    String s = StrictJson.typeName(v) + " " + StrictJson.write(v);
    return s.length() <= 90 ? s : s.substring(0, 87) + "...";
  }

  IllegalArgumentException error(String key, String expected, String found) {
    return new IllegalArgumentException(model + " config: field '" + key + "': expected " + expected + ", found "
        + found);
  }

  /**
   * Builds with {@code build}, rewording a builder's validation message ({@code "width:
   * expected ..."}) to name the JSON field ({@code "field 'embed_dim': expected ..."}).
   */
  <T> T build(Supplier<T> build, Map<String, String> jsonNameOfBuilderField) {
    try {
      return build.get();
    } catch (IllegalArgumentException e) {
      String msg = String.valueOf(e.getMessage());
      int colon = msg.indexOf(':');
      String field = colon > 0 ? jsonNameOfBuilderField.get(msg.substring(0, colon)) : null;
      throw new IllegalArgumentException(model + " config: "
          + (field != null ? "field '" + field + "'" + msg.substring(colon) : msg), e);
    }
  }
}
