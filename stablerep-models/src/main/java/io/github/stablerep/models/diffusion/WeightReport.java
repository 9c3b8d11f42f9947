package io.github.stablerep.models.diffusion;

import com.google.common.collect.ImmutableList;
import com.google.common.collect.ImmutableMap;
import java.util.Arrays;
import java.util.Map;

/**
 * What loading a state dict into a UNet or VAE found: parameters the module expects but the file
 * lacks, keys the file has that the module does not use, and keys whose shape differs. Shapes are
 * PyTorch's (conv [out, in, kH, kW], linear [out, in]), as they appear in the file.
 */
public final class WeightReport {
  private final String source;
  private final int loaded;
  private final ImmutableMap<String, long[]> missing;
  private final ImmutableList<String> unexpected;
  private final ImmutableMap<String, String> misshaped;

  WeightReport(String source, int loaded, Map<String, long[]> missing, Iterable<String> unexpected,
      Map<String, String> misshaped) {
    this.source = source;
    this.loaded = loaded;
    this.missing = ImmutableMap.copyOf(missing);
    this.unexpected = ImmutableList.copyOf(unexpected);
    this.misshaped = ImmutableMap.copyOf(misshaped);
  }

  /** Parameters found with the right shape. */
  public int loaded() {
    return loaded;
  }

  /** Expected keys absent from the weights, with the expected PyTorch shape. */
  public ImmutableMap<String, long[]> missing() {
    return missing;
  }

  /** Keys in the weights that the module has no parameter for (after legacy-name remapping). */
  public ImmutableList<String> unexpected() {
    return unexpected;
  }

  /** Keys with the wrong shape or a non-floating type: "expected [..], found [..] TYPE". */
  public ImmutableMap<String, String> misshaped() {
    return misshaped;
  }

  /** No parameter missing or mis-shaped (unexpected keys are tolerated). */
  public boolean isComplete() {
    return missing.isEmpty() && misshaped.isEmpty();
  }

  /** Throws an IllegalArgumentException listing every offender unless {@link #isComplete()}. */
  public WeightReport requireComplete() {
    if (!isComplete()) {
      throw new IllegalArgumentException(toString());
    }
    return this;
  }

  @Override
  public String toString() {
    StringBuilder sb = new StringBuilder("weights ").append(source).append(": ").append(loaded).append(" loaded, ")
        .append(missing.size()).append(" missing, ").append(misshaped.size()).append(" mis-shaped, ")
        .append(unexpected.size()).append(" unexpected");
    missing.forEach((k, s) -> sb.append("\n  missing ").append(k).append(": expected shape ")
        .append(Arrays.toString(s)).append(", found none"));
    misshaped.forEach((k, s) -> sb.append("\n  mis-shaped ").append(k).append(": ").append(s));
    unexpected.forEach(k -> sb.append("\n  unexpected ").append(k));
    return sb.toString();
  }
}
