package io.github.stablerep.models.diffusion;

import java.util.Arrays;
import java.util.stream.Collectors;

/** diffusers' {@code beta_schedule}: how the training noise levels β_0..β_{T-1} are laid out. */
public enum BetaSchedule {
  /** β evenly spaced from {@code beta_start} to {@code beta_end}. */
  LINEAR("linear"),
  /** √β evenly spaced, then squared (Stable Diffusion's schedule). */
  SCALED_LINEAR("scaled_linear"),
  /** The cosine schedule of Nichol and Dhariwal, each β capped at 0.999. */
  SQUAREDCOS_CAP_V2("squaredcos_cap_v2");

  private final String configName;

  BetaSchedule(String configName) {
    this.configName = configName;
  }

  /** The string diffusers writes in {@code scheduler_config.json}. */
  public String configName() {
    return configName;
  }

  /** Parses a config value; the error names the key, the value and the allowed values. */
  public static BetaSchedule fromConfigName(String value, String source) {
    for (BetaSchedule s : values()) {
      if (s.configName.equals(value)) {
        return s;
      }
    }
    throw new IllegalArgumentException(String.format(
        "config %s: key 'beta_schedule': expected one of %s, found '%s'", source, names(), value));
  }

  static String names() {
    return Arrays.stream(values()).map(BetaSchedule::configName).collect(Collectors.joining(", "));
  }
}
