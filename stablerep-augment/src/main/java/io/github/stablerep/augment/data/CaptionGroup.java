package io.github.stablerep.augment.data;

import java.nio.file.Path;
import java.util.List;
import java.util.Objects;

/**
 * One caption and the images generated for it.
 *
 * @param id the caption id: unique within its dataset (a manifest's first column, a folder name,
 *     or the row index of the StableRep CSV)
 * @param caption the caption text (may equal the id when a layout carries no text)
 * @param images absolute image paths, in the layout's order; never pixels
 */
public record CaptionGroup(String id, String caption, List<Path> images) {
  public CaptionGroup {
    Objects.requireNonNull(id, "id");
    Objects.requireNonNull(caption, "caption");
    images = List.copyOf(images);
    if (id.isEmpty()) {
      throw new IllegalArgumentException("id: expected a non-empty string, found \"\"");
    }
  }

  /** The number of images of this caption. */
  public int size() {
    return images.size();
  }
}
