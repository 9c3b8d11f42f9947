package io.github.stablerep.models.diffusion;

import java.util.Arrays;
import java.util.stream.Collectors;

/** diffusers' {@code prediction_type}: what the denoising model outputs. */
public enum PredictionType {
  /** The noise ε that was added (Stable Diffusion v1). */
  EPSILON("epsilon"),
  /** v = √ᾱ·ε − √(1−ᾱ)·x₀ (Salimans and Ho; Stable Diffusion v2 at 768 px). */
  V_PREDICTION("v_prediction"),
  /** The clean sample x₀ itself. */
  SAMPLE("sample");

  private final String configName;

  PredictionType(String configName) {
    this.configName = configName;
  }

  /** The string diffusers writes in {@code scheduler_config.json}. */
  public String configName() {
    return configName;
  }

  /** Parses a config value; the error names the key, the value and the allowed values. */
  public static PredictionType fromConfigName(String value, String source) {
    for (PredictionType p : values()) {
      if (p.configName.equals(value)) {
        return p;
      }
    }
    throw new IllegalArgumentException(String.format(
        "config %s: key 'prediction_type': expected one of %s, found '%s'", source,
        Arrays.stream(values()).map(PredictionType::configName).collect(Collectors.joining(", ")), value));
  }
}
