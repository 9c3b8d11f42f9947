package io.github.stablerep.models.vit;

import static com.google.common.base.Preconditions.checkArgument;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The uniform-noise placeholders of a training graph (drop path, dropout) and the seeded arrays
 * that fill them.
 *
 * <p>Why placeholders: ND4J M2.1's in-graph random ops repeat the same values at every
 * execution and ignore {@code Nd4j.getRandom().setSeed} (README pitfalls), so the randomness is
 * drawn in Java from a seed and fed with each batch. A seeded feed also makes a resumed run draw
 * the same masks.
 *
 * <p>Each placeholder is [-1, trailing...]; for a batch of N its feed has {@code N ·
 * rowsPerSample} rows (e.g. the residual stream [N·T, D] has T rows per sample). Feeds are drawn
 * in registration order from one {@link SplittableRandom}, so adding a site never changes the
 * values of the sites registered before it.
 */
final class TrainingNoise {

  private record Site(SDVariable placeholder, long rowsPerSample, long[] trailing) {}

  private final List<Site> sites = new ArrayList<>();

  /**
   * Adds a placeholder {@code name} of uniform noise in [0, 1) shaped [N · rowsPerSample,
   * trailing...] for a batch of N.
   */
  SDVariable uniform(SameDiff sd, String name, DataType type, long rowsPerSample, long... trailing) {
    long[] shape = new long[1 + trailing.length];
    shape[0] = -1;
    System.arraycopy(trailing, 0, shape, 1, trailing.length);
    SDVariable p = sd.placeHolder(name, type, shape);
    sites.add(new Site(p, rowsPerSample, trailing.clone()));
    return p;
  }

  /** The placeholders' names, in registration order. */
  List<String> names() {
    return sites.stream().map(s -> s.placeholder().name()).toList();
  }

  /** Every placeholder's noise for a batch of {@code batchSize}, drawn from {@code seed}. */
  Map<String, INDArray> feed(int batchSize, long seed) {
    SplittableRandom rng = new SplittableRandom(seed);
    Map<String, INDArray> out = new LinkedHashMap<>();
    for (Site s : sites) {
      long[] shape = new long[1 + s.trailing().length];
      shape[0] = batchSize * s.rowsPerSample();
      long n = shape[0];
      for (int i = 0; i < s.trailing().length; i++) {
        shape[i + 1] = s.trailing()[i];
        n *= s.trailing()[i];
      }
      checkArgument(n <= Integer.MAX_VALUE, "batchSize: the noise for %s would have %s > 2^31 entries",
          s.placeholder().name(), n);
      float[] u = new float[(int) n];
      for (int i = 0; i < u.length; i++) {
        // 24 random bits: exact in float and double, and never rounds up to 1
        u[i] = (rng.nextInt() >>> 8) * 0x1.0p-24f;
      }
      INDArray a = Nd4j.createFromArray(u).reshape(shape);
      DataType type = s.placeholder().dataType();
      out.put(s.placeholder().name(), type == DataType.FLOAT ? a : a.castTo(type));
    }
    return out;
  }
}
