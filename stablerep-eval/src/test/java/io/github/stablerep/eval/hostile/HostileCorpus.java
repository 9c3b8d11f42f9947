package io.github.stablerep.eval.hostile;

import io.github.stablerep.augment.PngBytes;
import io.github.stablerep.core.io.Npy;
import io.github.stablerep.core.io.SafeTensors;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.zip.GZIPOutputStream;
import javax.imageio.ImageIO;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The hostile-input corpus of issue 13, generated from a seed: for each public reader, valid
 * files mutated byte by byte (bit flips, replaced bytes, truncations, inserted garbage) plus
 * hand-built attacks (decompression bombs, lying lengths, path escapes, non-UTF-8). Nothing is
 * committed but this generator; {@link HostileCorpusTest} regenerates the corpus at test time.
 *
 * <p>Run {@link #main} to write it to a folder for other tools:
 * {@code <folder>/<reader>/<case>/<files>}.
 */
public final class HostileCorpus {

  /** One input: the reader it is for, a name, and its files (relative name to bytes; the first is the input). */
  public record Case(String reader, String name, Map<String, byte[]> files) {}

  public static final String IMAGES = "Images.read";
  public static final String IMAGE_FOLDER = "ImageFolderDataset";
  public static final String SAFETENSORS = "SafeTensors.read";
  public static final String CHECKPOINT = "TrainingCheckpoint.read";
  public static final String NPY = "Npy.read";
  public static final String IDX = "IdxDataset";
  public static final String CIFAR = "CifarDataset.cifar10";
  public static final String MANIFEST = "ManifestDataset";
  public static final String CAPTION_MANIFEST = "CaptionManifest.read";
  public static final String STABLEREP_CSV = "CaptionDataset.fromStableRepCsv";

  private HostileCorpus() {}

  public static void main(String[] args) throws IOException {
    Path out = Path.of(args.length > 0 ? args[0] : "hostile-corpus");
    List<Case> cases = generate(args.length > 1 ? Long.parseLong(args[1]) : 13);
    for (Case c : cases) {
      Path dir = Files.createDirectories(out.resolve(c.reader()).resolve(c.name()));
      for (Map.Entry<String, byte[]> f : c.files().entrySet()) {
        Path p = dir.resolve(f.getKey());
        Files.createDirectories(p.getParent());
        Files.write(p, f.getValue());
      }
    }
    System.out.println("wrote " + cases.size() + " cases to " + out);
  }

  /** The whole corpus, deterministic in {@code seed}. */
  public static List<Case> generate(long seed) throws IOException {
    SplittableRandom rnd = new SplittableRandom(seed);
    List<Case> out = new ArrayList<>();
    images(out, rnd);
    binaries(out, rnd);
    listings(out);
    return out;
  }

  // ---------------------------------------------------------------- images

  private static void images(List<Case> out, SplittableRandom rnd) throws IOException {
    BufferedImage img = new BufferedImage(32, 24, BufferedImage.TYPE_INT_RGB);
    for (int y = 0; y < 24; y++) {
      for (int x = 0; x < 32; x++) {
        img.setRGB(x, y, (x * 8) << 16 | (y * 10) << 8 | ((x + y) * 4));
      }
    }
    Map<String, byte[]> sources = new LinkedHashMap<>();
    for (String format : new String[] {"png", "jpg", "bmp", "gif", "tif"}) {
      ByteArrayOutputStream b = new ByteArrayOutputStream();
      ImageIO.write(img, format.equals("tif") ? "tiff" : format.equals("jpg") ? "jpeg" : format, b);
      sources.put(format, b.toByteArray());
    }
    for (Map.Entry<String, byte[]> s : sources.entrySet()) {
      out.add(one(IMAGES, "valid." + s.getKey(), s.getValue()));
      for (int i = 0; i < 50; i++) {
        out.add(one(IMAGES, "mutant" + i + "." + s.getKey(), mutate(s.getValue(), rnd)));
      }
    }
    byte[] jpg = sources.get("jpg");
    for (int n = 1; n < jpg.length; n += Math.max(1, jpg.length / 40)) {
      out.add(one(IMAGES, "truncated" + n + ".jpg", Arrays.copyOf(jpg, n)));
    }
    Map<String, byte[]> bombs = bombs(sources);
    bombs.forEach((name, bytes) -> out.add(one(IMAGES, name, bytes)));
    // the same attacks through the evaluation layout, one class folder each
    bombs.forEach((name, bytes) -> out.add(new Case(IMAGE_FOLDER, name, Map.of("cls/" + name, bytes))));
  }

  /** Small files that declare huge images or lie about lengths (issue 13 §2). */
  static Map<String, byte[]> bombs(Map<String, byte[]> sources) {
    Map<String, byte[]> out = new LinkedHashMap<>();
    byte[] sig = Arrays.copyOf(sources.get("png"), 8);
    byte[] idat = PngBytes.chunk("IDAT", PngBytes.deflate(new byte[64]));
    out.put("ihdr-65536.png", PngBytes.concat(sig, PngBytes.ihdr(65536, 65536), idat, PngBytes.chunk("IEND", new byte[0])));
    out.put("ihdr-16384.png", PngBytes.concat(sig, PngBytes.ihdr(16384, 16384), idat, PngBytes.chunk("IEND", new byte[0])));
    out.put("ihdr-30000x1.png", PngBytes.concat(sig, PngBytes.ihdr(30000, 30000), idat));
    byte[] png = sources.get("png");
    byte[] lying = png.clone();
    ByteBuffer.wrap(lying, 33, 4).putInt(1 << 30); // the chunk after IHDR
    out.put("chunk-2e30.png", lying);
    byte[] profile = PngBytes.deflate(new byte[64 << 20]);
    out.put("iccp-bomb.png", PngBytes.concat(Arrays.copyOf(png, 33),
        PngBytes.chunk("iCCP", PngBytes.concat("x".getBytes(StandardCharsets.ISO_8859_1), new byte[] {0, 0}, profile)),
        Arrays.copyOfRange(png, 33, png.length)));
    out.put("ztxt-bomb.png", PngBytes.concat(Arrays.copyOf(png, 33),
        PngBytes.chunk("zTXt", PngBytes.concat("c".getBytes(StandardCharsets.ISO_8859_1), new byte[] {0, 0}, profile)),
        Arrays.copyOfRange(png, 33, png.length)));
    byte[] gif = sources.get("gif").clone();
    ByteBuffer.wrap(gif, 6, 4).order(ByteOrder.LITTLE_ENDIAN).putShort((short) 16384).putShort((short) 16384);
    out.put("screen-16384.gif", gif);
    byte[] jpg = sources.get("jpg");
    for (int size : new int[] {16384, 30000, 65535}) {
      byte[] j = jpg.clone();
      int sof = sof(j);
      ByteBuffer.wrap(j, sof + 5, 4).putShort((short) size).putShort((short) size);
      out.put("sof-" + size + ".jpg", j);
    }
    byte[] strip = new byte[32 * 24 * 3];
    out.put("tiff-65535.tif", tiff(65535, 65535, 1, strip, strip.length));
    out.put("tiff-strip-2e31.tif", tiff(32, 24, 1, strip, Integer.MAX_VALUE));
    out.put("tiff-rows-30000.tif", tiff(32, 30000, 1, strip, strip.length));
    // a deflated strip that inflates to 64 MiB for a 32x24 image: the decoder must stop at 32x24x3
    out.put("tiff-deflate-bomb.tif", tiff(32, 24, 8, PngBytes.deflate(new byte[64 << 20]), -1));
    out.put("tiff-deflate-4096.tif", tiff(4096, 4096, 8, PngBytes.deflate(new byte[4096 * 4096 * 3]), -1));
    byte[] bmp = sources.get("bmp").clone();
    ByteBuffer.wrap(bmp, 18, 8).order(ByteOrder.LITTLE_ENDIAN).putInt(30000).putInt(30000);
    out.put("dims-30000.bmp", bmp);
    return out;
  }

  /**
   * A little-endian RGB TIFF with one strip; {@code declaredCount} is the StripByteCounts value
   * written (-1: the strip's real length), so the header can lie about it.
   */
  static byte[] tiff(int width, int height, int compression, byte[] strip, long declaredCount) {
    int entries = 9;
    int ifd = 8;
    int bitsAt = ifd + 2 + entries * 12 + 4;
    int stripAt = bitsAt + 6;
    ByteBuffer b = ByteBuffer.allocate(stripAt + strip.length).order(ByteOrder.LITTLE_ENDIAN);
    b.put((byte) 'I').put((byte) 'I').putShort((short) 42).putInt(ifd);
    b.putShort((short) entries);
    tiffEntry(b, 256, 4, 1, width); // ImageWidth
    tiffEntry(b, 257, 4, 1, height); // ImageLength
    tiffEntry(b, 258, 3, 3, bitsAt); // BitsPerSample, three values at bitsAt
    tiffEntry(b, 259, 3, 1, compression); // Compression (1 none, 8 deflate)
    tiffEntry(b, 262, 3, 1, 2); // PhotometricInterpretation RGB
    tiffEntry(b, 273, 4, 1, stripAt); // StripOffsets
    tiffEntry(b, 277, 3, 1, 3); // SamplesPerPixel
    tiffEntry(b, 278, 4, 1, height); // RowsPerStrip
    tiffEntry(b, 279, 4, 1, (int) (declaredCount < 0 ? strip.length : declaredCount)); // StripByteCounts
    b.putInt(0); // no next IFD
    b.putShort((short) 8).putShort((short) 8).putShort((short) 8);
    b.put(strip);
    return b.array();
  }

  private static void tiffEntry(ByteBuffer b, int tag, int type, int count, int value) {
    b.putShort((short) tag).putShort((short) type).putInt(count);
    if (type == 3 && count == 1) {
      b.putShort((short) value).putShort((short) 0);
    } else {
      b.putInt(value);
    }
  }

  // ---------------------------------------------------------------- binary formats

  private static void binaries(List<Case> out, SplittableRandom rnd) throws IOException {
    Path tmp = Files.createTempDirectory("hostile-corpus");
    try {
      Path st = tmp.resolve("a.safetensors");
      Map<String, org.nd4j.linalg.api.ndarray.INDArray> tensors = new LinkedHashMap<>();
      tensors.put("w", Nd4j.linspace(1, 6, 6).reshape(2, 3).castTo(org.nd4j.linalg.api.buffer.DataType.FLOAT));
      tensors.put("b", Nd4j.ones(org.nd4j.linalg.api.buffer.DataType.DOUBLE, 3));
      SafeTensors.write(st, tensors, Map.of("note", "x"));
      byte[] safetensors = Files.readAllBytes(st);
      mutants(out, SAFETENSORS, "st", safetensors, 150, rnd);
      String longNumber = "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0," + "1".repeat(200_000) + "]}}";
      out.add(one(SAFETENSORS, "number-200000-digits.st", withPrefix(longNumber, 8)));
      out.add(one(SAFETENSORS, "depth-100000.st", withPrefix("[".repeat(100_000), 0)));
      byte[] lengthLie = safetensors.clone();
      ByteBuffer.wrap(lengthLie, 0, 8).order(ByteOrder.LITTLE_ENDIAN).putLong(Long.MAX_VALUE);
      out.add(one(SAFETENSORS, "header-length-max.st", lengthLie));

      Path ck = tmp.resolve("c.safetensors");
      SafeTensors.write(ck, Map.of("model/w", Nd4j.ones(2), "optimizer/m", Nd4j.zeros(2)),
          Map.of("format", "stablerep4j-training-checkpoint/1", "step", "3", "epoch", "0", "rng_seed", "1"));
      byte[] checkpoint = Files.readAllBytes(ck);
      mutants(out, CHECKPOINT, "ckpt", checkpoint, 60, rnd);
      for (String bad : new String[] {"-1", "1e3", "x", ""}) {
        SafeTensors.write(ck, Map.of("model/w", Nd4j.ones(2)),
            Map.of("format", "stablerep4j-training-checkpoint/1", "step", bad, "epoch", "0", "rng_seed", "1"));
        out.add(one(CHECKPOINT, "step=" + bad + ".ckpt", Files.readAllBytes(ck)));
      }

      Path npy = tmp.resolve("a.npy");
      Npy.write(npy, Nd4j.linspace(1, 12, 12).reshape(3, 4));
      byte[] npyBytes = Files.readAllBytes(npy);
      mutants(out, NPY, "npy", npyBytes, 150, rnd);
      String header = new String(npyBytes, 10, npyBytes.length - 10, StandardCharsets.ISO_8859_1);
      int shape = header.indexOf("(3, 4)");
      if (shape > 0) {
        byte[] big = npyBytes.clone();
        byte[] dims = "(9999999999,)".getBytes(StandardCharsets.ISO_8859_1);
        System.arraycopy(dims, 0, big, 10 + shape, Math.min(dims.length, header.indexOf('}') - shape));
        out.add(one(NPY, "shape-huge.npy", big));
      }
    } finally {
      try (var s = Files.walk(tmp)) {
        s.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
      }
    }

    byte[] pixels = new byte[3 * 20];
    for (int i = 0; i < pixels.length; i++) {
      pixels[i] = (byte) (i * 7);
    }
    byte[] images = PngBytes.concat(idxHeader(0x803, 3, 4, 5), pixels);
    byte[] labels = PngBytes.concat(idxHeader(0x801, 3), new byte[] {1, 2, 9});
    for (boolean gz : new boolean[] {false, true}) {
      byte[] im = gz ? gzip(images) : images;
      byte[] lb = gz ? gzip(labels) : labels;
      String kind = gz ? "gz" : "raw";
      out.add(new Case(IDX, "valid-" + kind, pair(im, lb)));
      for (int i = 0; i < 40; i++) {
        out.add(new Case(IDX, "images-mutant" + i + "-" + kind, pair(mutate(im, rnd), lb)));
        out.add(new Case(IDX, "labels-mutant" + i + "-" + kind, pair(im, mutate(lb, rnd))));
      }
    }
    out.add(new Case(IDX, "labels-2e31", pair(images, idxHeader(0x801, Integer.MAX_VALUE))));
    out.add(new Case(IDX, "rows-cols-overflow", pair(idxHeader(0x803, 3, 65536, 65536), labels)));
    out.add(new Case(IDX, "gz-declares-1000x2896x2896",
        pair(gzip(idxHeader(0x803, 1000, 2896, 2896)), PngBytes.concat(idxHeader(0x801, 1000), new byte[1000]))));

    byte[] cifar = new byte[3 * 3073];
    for (int i = 0; i < cifar.length; i++) {
      cifar[i] = (byte) (i % 3073 == 0 ? i % 10 : i);
    }
    mutants(out, CIFAR, "bin", cifar, 40, rnd);
  }

  // ---------------------------------------------------------------- listings

  private static void listings(List<Case> out) {
    byte[] png = new byte[] {1};
    String[] escapes = {"../../etc/passwd", "/etc/passwd", "/proc/self/environ", "a/../../x.png", "C:\\\\x.png",
        "a\u0000b.png", "a\nb.png", "..", "", "ok.png"};
    for (int i = 0; i < escapes.length; i++) {
      String p = escapes[i];
      out.add(new Case(MANIFEST, "path" + i, Map.of("m.csv", ("path,label\n\"" + p + "\",1\n").getBytes(StandardCharsets.UTF_8),
          "ok.png", png)));
      out.add(new Case(CAPTION_MANIFEST, "path" + i, Map.of("m.tsv",
          ("caption_id\tcaption\tpath\n0\tcat\t" + p + "\n").getBytes(StandardCharsets.UTF_8), "ok.png", png)));
      out.add(new Case(STABLEREP_CSV, "path" + i, Map.of("c.csv",
          ("path,caption\n\"" + p + ".png\",cat\n").getBytes(StandardCharsets.UTF_8))));
    }
    byte[] notUtf8 = {'a', '.', 'p', 'n', 'g', ',', (byte) 0xFF, (byte) 0xFE, '\n'};
    out.add(new Case(MANIFEST, "not-utf8", Map.of("m.csv", notUtf8)));
    out.add(new Case(CAPTION_MANIFEST, "not-utf8", Map.of("m.tsv",
        PngBytes.concat("caption_id\tcaption\tpath\n0\t".getBytes(StandardCharsets.UTF_8), new byte[] {(byte) 0xC3, 0x28}))));
    out.add(new Case(STABLEREP_CSV, "not-utf8", Map.of("c.csv", notUtf8)));
    for (String label : new String[] {"-1", "99999999999", "cat", "1.5", "\u0000"}) {
      out.add(new Case(MANIFEST, "label" + label.hashCode(), Map.of("m.csv",
          ("ok.png," + label + "\n").getBytes(StandardCharsets.UTF_8), "ok.png", png)));
    }
    out.add(new Case(CAPTION_MANIFEST, "bad-escape", Map.of("m.tsv",
        "caption_id\tcaption\tpath\n0\tc\\x\tok.png\n".getBytes(StandardCharsets.UTF_8))));
    out.add(new Case(STABLEREP_CSV, "unclosed-quote", Map.of("c.csv", "\"a.png,cat\n".getBytes(StandardCharsets.UTF_8))));
  }

  // ---------------------------------------------------------------- helpers

  private static Case one(String reader, String name, byte[] bytes) {
    return new Case(reader, name, Map.of(name, bytes));
  }

  private static void mutants(List<Case> out, String reader, String ext, byte[] valid, int n, SplittableRandom rnd) {
    out.add(one(reader, "valid." + ext, valid));
    for (int i = 0; i < n; i++) {
      out.add(one(reader, "mutant" + i + "." + ext, mutate(valid, rnd)));
    }
  }

  private static Map<String, byte[]> pair(byte[] images, byte[] labels) {
    Map<String, byte[]> m = new LinkedHashMap<>();
    m.put("images-idx3-ubyte", images);
    m.put("labels-idx1-ubyte", labels);
    return m;
  }

  /** One to four edits: bit flip, replaced byte, truncation, inserted garbage. */
  public static byte[] mutate(byte[] original, SplittableRandom rnd) {
    byte[] b = original.clone();
    int edits = 1 + rnd.nextInt(4);
    for (int k = 0; k < edits && b.length > 0; k++) {
      switch (rnd.nextInt(4)) {
        case 0 -> b[rnd.nextInt(b.length)] ^= (byte) (1 << rnd.nextInt(8));
        case 1 -> b[rnd.nextInt(b.length)] = (byte) rnd.nextInt(256);
        case 2 -> b = Arrays.copyOf(b, rnd.nextInt(b.length));
        default -> {
          int at = rnd.nextInt(b.length + 1);
          byte[] junk = new byte[1 + rnd.nextInt(16)];
          for (int j = 0; j < junk.length; j++) {
            junk[j] = (byte) rnd.nextInt(256);
          }
          b = PngBytes.concat(Arrays.copyOf(b, at), junk, Arrays.copyOfRange(b, at, b.length));
        }
      }
    }
    return b;
  }

  /** {@code b} gzip-compressed. */
  public static byte[] gzip(byte[] b) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    try (GZIPOutputStream z = new GZIPOutputStream(out)) {
      z.write(b);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return out.toByteArray();
  }

  static byte[] idxHeader(int magic, int... dims) {
    ByteBuffer b = ByteBuffer.allocate(4 + 4 * dims.length).putInt(magic);
    for (int d : dims) {
      b.putInt(d);
    }
    return b.array();
  }

  static byte[] withPrefix(String header, int dataBytes) {
    byte[] h = header.getBytes(StandardCharsets.UTF_8);
    return ByteBuffer.allocate(8 + h.length + dataBytes).order(ByteOrder.LITTLE_ENDIAN).putLong(h.length).put(h).array();
  }

  static int sof(byte[] jpg) {
    for (int i = 2; i + 1 < jpg.length; i++) {
      if ((jpg[i] & 0xFF) == 0xFF && ((jpg[i + 1] & 0xFF) == 0xC0 || (jpg[i + 1] & 0xFF) == 0xC2)) {
        return i;
      }
    }
    throw new IllegalArgumentException("no SOF marker");
  }
}
