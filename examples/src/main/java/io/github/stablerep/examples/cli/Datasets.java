package io.github.stablerep.examples.cli;

import io.github.stablerep.augment.data.PathPolicy;
import io.github.stablerep.eval.data.Batch;
import io.github.stablerep.eval.data.ImageDataset;
import io.github.stablerep.eval.data.ImageDecoder;
import io.github.stablerep.eval.data.ImageFolderDataset;
import io.github.stablerep.eval.data.ManifestDataset;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.stream.Stream;
import org.nd4j.linalg.api.ndarray.INDArray;

/** Opens the image inputs the command line accepts, with eval's readers. */
final class Datasets {

  private Datasets() {}

  /** An opened dataset and whether its labels mean anything. */
  record Opened(ImageDataset dataset, boolean labelled, String kind) {}

  /**
   * A CSV/TSV manifest ({@code path,label}), an ImageFolder (a folder of class folders) or a flat
   * folder of images (unlabelled, read in file-name order).
   */
  static Opened open(String option, Path input, PathPolicy policy) throws IOException {
    if (!Files.exists(input)) {
      throw new IllegalArgumentException(option + ": expected an ImageFolder, a .csv/.tsv manifest or a folder of "
          + "images, found nothing at " + input);
    }
    if (Files.isRegularFile(input)) {
      String n = input.getFileName().toString().toLowerCase(Locale.ROOT);
      if (!n.endsWith(".csv") && !n.endsWith(".tsv")) {
        throw new IllegalArgumentException(option + ": expected a folder of images, an ImageFolder or a .csv/.tsv "
            + "manifest (path,label), found the file " + input);
      }
      return new Opened(ManifestDataset.open(input, ImageDecoder.standard(), policy), true, "manifest");
    }
    boolean hasFolders;
    try (Stream<Path> s = Files.list(input)) {
      hasFolders = s.anyMatch(Files::isDirectory);
    }
    if (hasFolders) {
      return new Opened(ImageFolderDataset.open(input, ImageDecoder.standard(), policy), true, "ImageFolder");
    }
    return new Opened(flat(input), false, "folder");
  }

  private static ImageDataset flat(Path dir) throws IOException {
    List<Path> files = new ArrayList<>();
    try (Stream<Path> s = Files.list(dir)) {
      s.filter(Files::isRegularFile).filter(p -> {
        String n = p.getFileName().toString().toLowerCase(Locale.ROOT);
        return ImageFolderDataset.IMG_EXTENSIONS.stream().anyMatch(n::endsWith);
      }).sorted().forEach(files::add);
    }
    if (files.isEmpty()) {
      throw new IllegalArgumentException(dir + ": expected image files (" + String.join(", ",
          ImageFolderDataset.IMG_EXTENSIONS) + ") or class folders, found none");
    }
    ImageDecoder decoder = ImageDecoder.standard();
    return new ImageDataset() {
      @Override
      public int size() {
        return files.size();
      }

      @Override
      public int[] labels() {
        return new int[files.size()];
      }

      @Override
      public Reader reader() {
        return new Reader() {
          int next = 0;

          @Override
          public Batch next(int max) throws IOException {
            int start = next;
            List<INDArray> images = new ArrayList<>();
            while (next < files.size() && images.size() < max) {
              images.add(decoder.decode(files.get(next++)));
            }
            return new Batch(start, images, new int[images.size()]);
          }

          @Override
          public void close() {}
        };
      }
    };
  }
}
