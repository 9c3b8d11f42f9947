package io.github.stablerep.core.optim;

import static com.google.common.base.Preconditions.checkArgument;

import com.google.common.collect.ImmutableList;
import com.google.common.collect.ImmutableSet;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * Which parameters get weight decay: AdamW's two parameter groups, decided per name and shape.
 *
 * <p>A parameter is <em>not</em> decayed when any of these holds, in this order:
 *
 * <ol>
 *   <li>its name was passed to {@link Builder#noDecay} (and it is decayed, whatever else holds, if
 *       passed to {@link Builder#decay});
 *   <li>its rank is below {@link Builder#excludeBelowRank} (default 2: biases, norm scales and
 *       shifts, scalars such as a logit scale);
 *   <li>its name ends with one of {@link Builder#excludeNamesEndingWith} (default {@code "bias"});
 *   <li>its name contains one of {@link Builder#excludeNamesContaining} (default none).
 * </ol>
 *
 * {@link #defaults()} is timm's {@code param_groups_weight_decay} rule (rank ≤ 1 or a name
 * ending in bias). {@link #stableRepReference()} is the official code's {@code
 * util/misc.py add_weight_decay}: rank &lt; 2, or a name <em>containing</em> {@code bias},
 * {@code ln} or {@code bn}. For a ViT with a BN projection head the two pick the same set,
 * since every bias and norm parameter there is 1-D. Note that neither excludes the 3-D
 * position embedding or class token: the reference decays them (timm's own training scripts
 * would not, through the model's {@code no_weight_decay()} list; add them with {@link
 * Builder#noDecay} to get that behaviour).
 */
public final class ParameterGroups {

  private final int excludeBelowRank;
  private final ImmutableList<String> suffixes;
  private final ImmutableList<String> substrings;
  private final ImmutableSet<String> forcedDecay;
  private final ImmutableSet<String> forcedNoDecay;

  private ParameterGroups(Builder b) {
    this.excludeBelowRank = b.excludeBelowRank;
    this.suffixes = ImmutableList.copyOf(b.suffixes);
    this.substrings = ImmutableList.copyOf(b.substrings);
    this.forcedDecay = ImmutableSet.copyOf(b.forcedDecay);
    this.forcedNoDecay = ImmutableSet.copyOf(b.forcedNoDecay);
  }

  /** timm's rule: no decay for rank ≤ 1 and names ending in {@code bias}. */
  public static ParameterGroups defaults() {
    return builder().build();
  }

  /** The official StableRep rule: no decay for rank &lt; 2 or names containing bias, ln or bn. */
  public static ParameterGroups stableRepReference() {
    return builder().excludeNamesEndingWith().excludeNamesContaining("bias", "ln", "bn").build();
  }

  /** Every parameter decayed: torch.optim.AdamW with a single group. */
  public static ParameterGroups decayAll() {
    return builder().excludeBelowRank(0).excludeNamesEndingWith().build();
  }

  public static Builder builder() {
    return new Builder();
  }

  public Builder toBuilder() {
    Builder b = new Builder().excludeBelowRank(excludeBelowRank);
    b.suffixes.clear();
    b.suffixes.addAll(suffixes);
    b.substrings.addAll(substrings);
    b.forcedDecay.addAll(forcedDecay);
    b.forcedNoDecay.addAll(forcedNoDecay);
    return b;
  }

  /** Whether the parameter {@code name} of the given shape gets weight decay. */
  public boolean decays(String name, long[] shape) {
    checkArgument(name != null, "name: expected a parameter name, found null");
    checkArgument(shape != null, "shape: expected the shape of %s, found null", name);
    if (forcedDecay.contains(name)) {
      return true;
    }
    if (forcedNoDecay.contains(name) || shape.length < excludeBelowRank) {
      return false;
    }
    for (String s : suffixes) {
      if (name.endsWith(s)) {
        return false;
      }
    }
    for (String s : substrings) {
      if (name.contains(s)) {
        return false;
      }
    }
    return true;
  }

  /**
   * Whether the rule depends on the shape alone, i.e. it never excludes a parameter of rank ≥
   * {@link #excludeBelowRank()} by its name. SameDiff's {@code fit} hands regularisation only
   * the array, so only such rules carry over to it exactly.
   */
  public boolean decidesByRankOnly(String name, long[] shape) {
    return decays(name, shape) == (shape.length >= excludeBelowRank);
  }

  public int excludeBelowRank() {
    return excludeBelowRank;
  }

  @Override
  public String toString() {
    return "ParameterGroups{excludeBelowRank=" + excludeBelowRank + ", suffixes=" + suffixes
        + ", substrings=" + substrings + ", decay=" + forcedDecay + ", noDecay=" + forcedNoDecay + "}";
  }

  /** Defaults: timm's rule (rank &lt; 2 or a name ending in {@code bias} is not decayed). */
  public static final class Builder {
    private int excludeBelowRank = 2;
    private final List<String> suffixes = new ArrayList<>(List.of("bias"));
    private final List<String> substrings = new ArrayList<>();
    private final Set<String> forcedDecay = new LinkedHashSet<>();
    private final Set<String> forcedNoDecay = new LinkedHashSet<>();

    private Builder() {}

    /** Parameters of rank below this are not decayed; 0 turns the rule off. Default 2. */
    public Builder excludeBelowRank(int rank) {
      this.excludeBelowRank = rank;
      return this;
    }

    /** Replaces the name suffixes that exclude a parameter; none to turn the rule off. Default {@code bias}. */
    public Builder excludeNamesEndingWith(String... suffixes) {
      this.suffixes.clear();
      this.suffixes.addAll(List.of(suffixes));
      return this;
    }

    /** Replaces the name substrings that exclude a parameter. Default none. */
    public Builder excludeNamesContaining(String... substrings) {
      this.substrings.clear();
      this.substrings.addAll(List.of(substrings));
      return this;
    }

    /** Always decays these parameters, overriding every exclusion. */
    public Builder decay(String... names) {
      forcedDecay.addAll(List.of(names));
      return this;
    }

    /** Never decays these parameters. */
    public Builder noDecay(String... names) {
      forcedNoDecay.addAll(List.of(names));
      return this;
    }

    public ParameterGroups build() {
      checkArgument(
          excludeBelowRank >= 0,
          "excludeBelowRank: expected a rank >= 0 (2 excludes vectors and scalars), found %s", excludeBelowRank);
      for (String s : suffixes) {
        checkArgument(s != null && !s.isEmpty(), "excludeNamesEndingWith: expected non-empty suffixes, found %s", suffixes);
      }
      for (String s : substrings) {
        checkArgument(s != null && !s.isEmpty(), "excludeNamesContaining: expected non-empty substrings, found %s", substrings);
      }
      for (String name : forcedDecay) {
        checkArgument(
            !forcedNoDecay.contains(name),
            "decay/noDecay: expected each name in at most one of them, found %s in both", name);
      }
      return new ParameterGroups(this);
    }
  }
}
