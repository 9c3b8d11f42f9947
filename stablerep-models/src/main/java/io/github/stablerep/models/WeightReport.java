package io.github.stablerep.models;

import static com.google.common.base.Preconditions.checkArgument;

import com.google.common.collect.ImmutableList;
import com.google.common.collect.ImmutableMap;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * What importing a PyTorch state dict into a model found: the one report type of every weight
 * import in this library ({@code VisionTransformer.importWeights}, {@code
 * ProjectionHead.importWeights}, {@code ClipTextEncoder.importWeights}, {@code
 * UNet2DConditionModel.loadWeights}, {@code AutoencoderKL.loadWeights}).
 *
 * <p><b>One rule for all of them</b>, the one transformers' and diffusers' {@code
 * from_pretrained} follow: a parameter that is missing, or present with another shape or a
 * non-floating type, is an error, and then nothing is assigned (the exception's message is
 * {@link #toString()}, listing every offender); a key the model has no parameter for is
 * <i>unexpected</i>, reported here and logged at WARN, but not fatal; keys a model skips on
 * purpose are <i>ignored</i> (a ViT's classifier head, CLIP's {@code position_ids} buffer) and
 * not logged. For torch's {@code strict=True} also on unexpected keys, call {@link
 * #requireStrict()} on the result (the weights are assigned by then).
 *
 * <p>Keys and shapes are PyTorch's, as in the state dict (conv [out, in, kH, kW], linear [out,
 * in]). Immutable; lists are sorted.
 */
public final class WeightReport {
  /** Unexpected keys listed one per line in {@link #toString()}; the rest are counted. */
  private static final int MAX_LISTED = 20;

  private final String source;
  private final ImmutableList<String> loaded;
  private final ImmutableMap<String, String> missing;
  private final ImmutableMap<String, String> mismatched;
  private final ImmutableList<String> unexpected;
  private final ImmutableList<String> ignored;

  private WeightReport(Builder b) {
    this.source = b.source;
    this.loaded = ImmutableList.sortedCopyOf(b.loaded);
    this.missing = ImmutableMap.copyOf(new TreeMap<>(b.missing));
    this.mismatched = ImmutableMap.copyOf(new TreeMap<>(b.mismatched));
    this.unexpected = ImmutableList.sortedCopyOf(b.unexpected);
    this.ignored = ImmutableList.sortedCopyOf(b.ignored);
  }

  /** @param source what is being loaded, for messages (a file, or "for unet") */
  public static Builder builder(String source) {
    return new Builder(source);
  }

  /** What was loaded, as given to the builder. */
  public String source() {
    return source;
  }

  /** The state-dict keys assigned (or, in an exception's report, that would have been). */
  public ImmutableList<String> loaded() {
    return loaded;
  }

  /** Expected parameters the state dict lacks: key to "expected shape [..]". */
  public ImmutableMap<String, String> missing() {
    return missing;
  }

  /** Keys with another shape or a non-floating type: key to "expected shape [..] (floating point), found [..] TYPE". */
  public ImmutableMap<String, String> mismatched() {
    return mismatched;
  }

  /** Keys the model has no parameter for: reported, not fatal. */
  public ImmutableList<String> unexpected() {
    return unexpected;
  }

  /** Keys skipped on purpose (a classifier head, a buffer the model recomputes). */
  public ImmutableList<String> ignored() {
    return ignored;
  }

  /** Nothing missing and nothing mis-shaped: the weights can be (or were) assigned. */
  public boolean isComplete() {
    return missing.isEmpty() && mismatched.isEmpty();
  }

  /**
   * @return this report
   * @throws IllegalArgumentException with {@link #toString()} unless {@link #isComplete()}
   */
  public WeightReport requireComplete() {
    if (!isComplete()) {
      throw new IllegalArgumentException(toString());
    }
    return this;
  }

  /**
   * torch's {@code strict=True}: complete and without unexpected keys.
   *
   * @return this report
   * @throws IllegalArgumentException with {@link #toString()} otherwise
   */
  public WeightReport requireStrict() {
    if (!isComplete() || !unexpected.isEmpty()) {
      throw new IllegalArgumentException(toString());
    }
    return this;
  }

  @Override
  public String toString() {
    StringBuilder sb = new StringBuilder("weights ").append(source).append(": ").append(loaded.size())
        .append(" loaded, ").append(missing.size()).append(" missing, ").append(mismatched.size())
        .append(" mis-shaped, ").append(unexpected.size()).append(" unexpected");
    if (!ignored.isEmpty()) {
      sb.append(", ").append(ignored.size()).append(" ignored");
    }
    missing.forEach((k, why) -> sb.append("\n  missing '").append(k).append("': ").append(why).append(", found none"));
    mismatched.forEach((k, why) -> sb.append("\n  mis-shaped '").append(k).append("': ").append(why));
    unexpected.stream().limit(MAX_LISTED).forEach(k -> sb.append("\n  unexpected '").append(k).append("'"));
    if (unexpected.size() > MAX_LISTED) {
      sb.append("\n  ... and ").append(unexpected.size() - MAX_LISTED).append(" more unexpected");
    }
    return sb.toString();
  }

  /** Collects a report; each key once. */
  public static final class Builder {
    private final String source;
    private final List<String> loaded = new ArrayList<>();
    private final Map<String, String> missing = new LinkedHashMap<>();
    private final Map<String, String> mismatched = new LinkedHashMap<>();
    private final List<String> unexpected = new ArrayList<>();
    private final List<String> ignored = new ArrayList<>();

    private Builder(String source) {
      checkArgument(source != null, "source: expected a description of the weights, found null");
      this.source = source;
    }

    public Builder loaded(String key) {
      loaded.add(key);
      return this;
    }

    /** A parameter of PyTorch shape {@code expected} that the state dict lacks. */
    public Builder missing(String key, long[] expected) {
      missing.put(key, "expected shape " + Arrays.toString(expected));
      return this;
    }

    /** A tensor of the wrong shape or type; {@code found} may be null (a null entry in the map). */
    public Builder mismatched(String key, long[] expected, INDArray found) {
      mismatched.put(key, "expected shape " + Arrays.toString(expected) + " (floating point), found "
          + (found == null ? "null" : Arrays.toString(found.shape()) + " " + found.dataType()));
      return this;
    }

    public Builder unexpected(String key) {
      unexpected.add(key);
      return this;
    }

    public Builder ignored(String key) {
      ignored.add(key);
      return this;
    }

    public WeightReport build() {
      return new WeightReport(this);
    }
  }

  /** Whether {@code found} is a floating-point tensor of exactly {@code expected}'s shape. */
  public static boolean fits(long[] expected, INDArray found) {
    return found != null && found.dataType().isFPType() && Arrays.equals(expected, found.shape());
  }
}
