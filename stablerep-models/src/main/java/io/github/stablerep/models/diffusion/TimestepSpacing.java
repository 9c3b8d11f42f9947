package io.github.stablerep.models.diffusion;

import java.util.Arrays;
import java.util.stream.Collectors;

/**
 * diffusers' {@code timestep_spacing}: how n inference timesteps are picked from the T training
 * timesteps (Table 2 of Lin et al., "Common Diffusion Noise Schedules and Sample Steps are Flawed").
 */
public enum TimestepSpacing {
  /** Multiples of T // n, shifted by {@code steps_offset} (Stable Diffusion v1's choice). */
  LEADING("leading"),
  /** Counted down from T in steps of T / n, minus one: the first step is always T - 1. */
  TRAILING("trailing"),
  /** n values spread evenly over [0, T - 1], rounded (Euler keeps them fractional). */
  LINSPACE("linspace");

  private final String configName;

  TimestepSpacing(String configName) {
    this.configName = configName;
  }

  /** The string diffusers writes in {@code scheduler_config.json}. */
  public String configName() {
    return configName;
  }

  /** Parses a config value; the error names the key, the value and the allowed values. */
  public static TimestepSpacing fromConfigName(String value, String source) {
    for (TimestepSpacing s : values()) {
      if (s.configName.equals(value)) {
        return s;
      }
    }
    throw new IllegalArgumentException(String.format(
        "config %s: key 'timestep_spacing': expected one of %s, found '%s'", source,
        Arrays.stream(values()).map(TimestepSpacing::configName).collect(Collectors.joining(", ")), value));
  }
}
