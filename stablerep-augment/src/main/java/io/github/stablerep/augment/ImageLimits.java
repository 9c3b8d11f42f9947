package io.github.stablerep.augment;

import static com.google.common.base.Preconditions.checkArgument;

/**
 * How much an image file may make {@link Images} allocate: the defence against decompression
 * bombs (a few hundred bytes declaring a 16384 × 16384 image) and lying headers (a chunk that
 * claims a gigabyte). Every limit is checked before the memory it guards is allocated; a file
 * beyond one is refused with {@link ImageDecodeException} naming the file, the limit and what
 * was found.
 *
 * <p>Defaults ({@link #DEFAULT}):
 * <ul>
 *   <li>{@code maxPixels} 2^23 = 8 388 608 (a 3840 × 2160 frame fits). A decoded pixel costs
 *       about 28 bytes at the peak (the decoder's raster, the float planes, the ND4J copy), so a
 *       maximal image peaks near 250 MB, which keeps the rule that a file under 1 MB never
 *       makes the library allocate more than about 256 MB. PIL refuses above twice its
 *       {@code MAX_IMAGE_PIXELS} (89 478 485) and warns above it; training images are far
 *       smaller (StableRep trains on 224 × 224 crops of 512 × 512 images), and larger photos
 *       can be admitted with {@link Builder#maxPixels}. Images above half the limit are logged
 *       once at WARN, as PIL's {@code DecompressionBombWarning}.
 *   <li>{@code maxFileBytes} 256 MiB: the file is read whole into memory.
 *   <li>{@code maxMetadataBytes} 16 MiB: the inflated size of a PNG's compressed metadata
 *       chunks ({@code iCCP}, {@code zTXt}, compressed {@code iTXt}), which decoders inflate
 *       in full although they do not change the pixels (a zlib bomb there allocated 670 MB).
 * </ul>
 *
 * <p>Immutable and thread-safe.
 */
public final class ImageLimits {

  /** The default pixel limit, 2^23; see the class comment. */
  public static final long DEFAULT_MAX_PIXELS = 1L << 23;
  /** The default largest file, 256 MiB. */
  public static final long DEFAULT_MAX_FILE_BYTES = 256L << 20;
  /** The default largest inflated metadata chunk, 16 MiB. */
  public static final long DEFAULT_MAX_METADATA_BYTES = 16L << 20;
  /** The defaults. */
  public static final ImageLimits DEFAULT = builder().build();

  private final long maxPixels;
  private final long maxFileBytes;
  private final long maxMetadataBytes;

  private ImageLimits(Builder b) {
    this.maxPixels = b.maxPixels;
    this.maxFileBytes = b.maxFileBytes;
    this.maxMetadataBytes = b.maxMetadataBytes;
  }

  public static Builder builder() {
    return new Builder();
  }

  public Builder toBuilder() {
    return new Builder().maxPixels(maxPixels).maxFileBytes(maxFileBytes).maxMetadataBytes(maxMetadataBytes);
  }

  /** Largest image accepted, width × height. */
  public long maxPixels() {
    return maxPixels;
  }

  /** Largest file accepted, in bytes. */
  public long maxFileBytes() {
    return maxFileBytes;
  }

  /** Largest inflated size of one compressed metadata chunk, in bytes. */
  public long maxMetadataBytes() {
    return maxMetadataBytes;
  }

  @Override
  public String toString() {
    return "ImageLimits{maxPixels=" + maxPixels + ", maxFileBytes=" + maxFileBytes + ", maxMetadataBytes="
        + maxMetadataBytes + "}";
  }

  /** Defaults as {@link ImageLimits#DEFAULT}. */
  public static final class Builder {
    private long maxPixels = DEFAULT_MAX_PIXELS;
    private long maxFileBytes = DEFAULT_MAX_FILE_BYTES;
    private long maxMetadataBytes = DEFAULT_MAX_METADATA_BYTES;

    private Builder() {}

    /** Largest width × height, in [1, {@link Images#MAX_PIXELS}]. */
    public Builder maxPixels(long maxPixels) {
      this.maxPixels = maxPixels;
      return this;
    }

    /** Largest file in bytes, in [1, 2^31 - 1] (files are read whole into one array). */
    public Builder maxFileBytes(long maxFileBytes) {
      this.maxFileBytes = maxFileBytes;
      return this;
    }

    /** Largest inflated PNG metadata chunk in bytes, at least 1. */
    public Builder maxMetadataBytes(long maxMetadataBytes) {
      this.maxMetadataBytes = maxMetadataBytes;
      return this;
    }

    public ImageLimits build() {
      checkArgument(maxPixels >= 1 && maxPixels <= Images.MAX_PIXELS,
          "maxPixels: expected a value in [1, 2^28], found %s", maxPixels);
      checkArgument(maxFileBytes >= 1 && maxFileBytes <= Integer.MAX_VALUE - 8,
          "maxFileBytes: expected a value in [1, 2^31 - 9], found %s", maxFileBytes);
      checkArgument(maxMetadataBytes >= 1, "maxMetadataBytes: expected >= 1, found %s", maxMetadataBytes);
      return new ImageLimits(this);
    }
  }
}
