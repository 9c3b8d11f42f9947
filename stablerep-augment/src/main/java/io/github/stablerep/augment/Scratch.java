package io.github.stablerep.augment;

/**
 * Per-thread scratch memory of the augmentation kernels, in named buffers: {@link ImageOps}'s
 * batch functions, {@link SimClrAugmentation}'s fused pipeline and the {@link ImageKernels} they
 * both call. Reused across calls because a 224×224×3 sample is 600 KB, which the G1 collector
 * would otherwise allocate as a humongous object on every call and every sample.
 *
 * <p>Buffers grow on demand and are never cleared: whoever takes one writes every element it
 * later reads. A buffer belongs to the role it is named after, so two users of one buffer never
 * overlap in time: {@link Buffer#SAMPLE} and the {@link Buffer#RED}/{@link Buffer#GREEN}/
 * {@link Buffer#BLUE} planes hold a sample while kernels run on it, and no kernel takes them;
 * the others live within one kernel call. A kernel that needs a new temporary gets a new name
 * here rather than borrowing one that a caller may be holding.
 */
final class Scratch {

  /** One-dimensional buffers. */
  enum Buffer {
    /**
     * A sample or plane copied in from the batch; in the fused pipeline the source image (after
     * the optional downsample-and-upsample), read by the crop.
     */
    SAMPLE,
    /** The fused pipeline's downsampled sample, between its two resamplings. */
    DOWNSAMPLED,
    /** One output plane of {@link ImageOps#resizedCrop}, before it is written out. */
    RESIZED,
    /**
     * A grayscale plane: {@link ImageOps#rgbToGrayscale}'s output, the plane whose mean
     * {@link ImageKernels#contrast} blends towards, {@link ImageKernels#saturation}'s blend term.
     */
    GRAY,
    /** One output row of the blur's second (horizontal) pass. */
    BLUR_ROW,
    /** {@link ImageKernels#hue}: the per-pixel maximum channel. */
    HUE_MAX,
    /** {@link ImageKernels#hue}: the chroma, maximum minus minimum. */
    HUE_CHROMA,
    /** {@link ImageKernels#hue}: the chroma's reciprocal. */
    HUE_INVERSE_CHROMA,
    /** {@link ImageKernels#hue}: the hue in sextants. */
    HUE_SEXTANT,
    /** {@link ImageKernels#hue}: the mask left once R and G were tested as the maximum. */
    HUE_REST,
    /** {@link ImageKernels#hue}: a per-pass term (a channel mask, then a channel's ramp). */
    HUE_TERM,
    /** A sample's red plane, held across the kernels that run on the sample. */
    RED,
    /** A sample's green plane. */
    GREEN,
    /** A sample's blue plane. */
    BLUE
  }

  /**
   * Two-dimensional buffers {@code [count][length]}: the stages of a separable filter, whose
   * passes each run on whole rows over arrays indexed from 0 (the form C2 vectorises), with a
   * transpose between them. Used by the antialiased resampling and by the Gaussian blur, never
   * at once.
   */
  enum Grid {
    /** The first pass's input: the crop's rows (resampling) or the transposed plane (blur). */
    FIRST_PASS_IN,
    /** The first pass's output. */
    FIRST_PASS_OUT,
    /** The first pass's output transposed: the second pass's input. */
    TRANSPOSED,
    /** The second pass's output, still transposed (resampling; the blur writes rows). */
    SECOND_PASS_OUT
  }

  private static final ThreadLocal<Scratch> THREAD = ThreadLocal.withInitial(Scratch::new);

  private final float[][] buffers = new float[Buffer.values().length][];
  private final float[][][] grids = new float[Grid.values().length][][];

  private Scratch() {}

  /** This thread's {@code which} with at least {@code size} elements, not cleared. */
  static float[] buffer(Buffer which, int size) {
    float[][] slots = THREAD.get().buffers;
    int k = which.ordinal();
    if (slots[k] == null || slots[k].length < size) {
      slots[k] = new float[size];
    }
    return slots[k];
  }

  /** This thread's {@code which} of at least {@code [count][length]}, not cleared. */
  static float[][] grid(Grid which, int count, int length) {
    float[][][] slots = THREAD.get().grids;
    int k = which.ordinal();
    float[][] m = slots[k];
    if (m == null || m.length < count || m[0].length < length) {
      m = new float[Math.max(count, m == null ? 0 : m.length)][Math.max(length,
          m == null ? 0 : m[0].length)];
      slots[k] = m;
    }
    return m;
  }

  /**
   * This thread's {@link Buffer#RED}, {@link Buffer#GREEN} and {@link Buffer#BLUE} of at least
   * {@code plane} elements. Separate arrays rather than one {@code [3, H·W]} array: C2 does not
   * vectorise a loop that reads one array at several offsets ({@code a[k]}, {@code a[plane + k]}).
   */
  static float[][] rgb(int plane) {
    return new float[][] {
      buffer(Buffer.RED, plane), buffer(Buffer.GREEN, plane), buffer(Buffer.BLUE, plane)
    };
  }
}
