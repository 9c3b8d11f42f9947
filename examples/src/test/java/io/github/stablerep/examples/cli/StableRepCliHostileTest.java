package io.github.stablerep.examples.cli;

import static io.github.stablerep.examples.cli.StableRepCliTest.p;
import static io.github.stablerep.examples.cli.StableRepCliTest.run;
import static org.assertj.core.api.Assertions.assertThat;

import io.github.stablerep.core.io.SafeTensors;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Random;
import java.util.zip.CRC32;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.ndarray.INDArray;

/**
 * Bad input on the command line (issue 13 §7): one line on stderr naming the problem, exit code
 * 2, never a stack trace, and nothing silent (non-finite options, NaN weights).
 */
class StableRepCliHostileTest {

  @TempDir static Path tmp;
  static Path images;
  static Path checkpoint;

  @BeforeAll
  static void fixture() throws Exception {
    images = tmp.resolve("images");
    StableRepCliTest.writeClasses(images, 2, 2, new Random(1));
    checkpoint = tmp.resolve("ckpt.safetensors");
    StableRepCliTest.Run r = run("pretrain", "--data", p(images), "--checkpoint", p(checkpoint), "--image-size", "16",
        "--patch-size", "8", "--width", "16", "--depth", "1", "--heads", "2", "--head-hidden", "32", "--head-dim",
        "8", "-n", "2", "-m", "2", "--steps", "1", "--lr", "1e-3", "--threads", "1", "--seed", "3");
    assertThat(r.code()).as(r.err()).isZero();
  }

  /** Exit 2 and a single line (picocli's own usage hint aside) containing {@code fragment}. */
  static void badInput(StableRepCliTest.Run r, String fragment) {
    assertThat(r.code()).as(r.err()).isEqualTo(2);
    assertThat(r.err()).contains(fragment).doesNotContain("\tat ").doesNotContain("Exception:").doesNotContain("\u0000");
  }

  /** The fixture checkpoint with one model tensor or one metadata value replaced. */
  static Path variant(String name, String metaKey, String metaValue, boolean nanWeights) throws Exception {
    Map<String, INDArray> tensors = new LinkedHashMap<>(SafeTensors.read(checkpoint));
    Map<String, String> meta = new LinkedHashMap<>(SafeTensors.metadata(checkpoint));
    if (metaKey != null) {
      meta.put(metaKey, metaValue);
    }
    if (nanWeights) {
      String key = tensors.keySet().stream().filter(k -> k.startsWith("model/") && k.endsWith("patch_embed.proj.weight"))
          .findFirst().orElseThrow();
      tensors.put(key, tensors.get(key).dup().assign(Double.NaN));
    }
    Path out = tmp.resolve(name);
    SafeTensors.write(out, tensors, meta);
    return out;
  }

  @Test
  void nonFiniteOptionsAreRefused() {
    for (String v : new String[] {"NaN", "Infinity", "-Infinity"}) {
      badInput(run("pretrain", "--data", p(images), "--checkpoint", p(tmp.resolve("x.safetensors")), "--lr", v),
          "expected a finite number, found '" + v + "'");
    }
    badInput(run("probe", "--train", p(images), "--test", p(images), "--checkpoint", p(checkpoint),
        "--knn-temperature", "NaN"), "expected a finite number");
  }

  @Test
  void embedWithNanWeightsFails() throws Exception {
    Path nan = variant("nan.safetensors", null, null, true);
    badInput(run("embed", "--checkpoint", p(nan), "--images", p(images), "--out", p(tmp.resolve("f.npy"))),
        "features: expected finite values");
    assertThat(tmp.resolve("f.npy")).doesNotExist();
  }

  @Test
  void zeroHeadsInACheckpointsConfigIsAMessage() throws Exception {
    String config = SafeTensors.metadata(checkpoint).get("config.vit").replace("\"num_heads\":2", "\"num_heads\":0");
    Path zero = variant("zero-heads.safetensors", "config.vit", config, false);
    badInput(run("embed", "--checkpoint", p(zero), "--images", p(images), "--out", p(tmp.resolve("z.npy"))),
        "metadata 'config.vit': VisionTransformer config: field 'num_heads': expected >= 1");
    badInput(run("export", "--checkpoint", p(zero), "--out", p(tmp.resolve("z.safetensors"))),
        "field 'num_heads': expected >= 1");
  }

  @Test
  void checkpointWithoutConfigNeedsTheLegacyOption() throws Exception {
    Map<String, String> meta = new LinkedHashMap<>(SafeTensors.metadata(checkpoint));
    String config = meta.remove("config.vit");
    meta.remove("config.image_mlp");
    Path old = tmp.resolve("old.safetensors");
    SafeTensors.write(old, SafeTensors.read(checkpoint), meta);
    badInput(run("export", "--checkpoint", p(old), "--out", p(tmp.resolve("o.safetensors"))),
        "expected the ViT's config in the checkpoint's metadata (config.<name>");
    Path json = Files.writeString(tmp.resolve("vit.json"), config);
    StableRepCliTest.Run r = run("export", "--checkpoint", p(old), "--config", p(json), "--out",
        p(tmp.resolve("o.safetensors")));
    assertThat(r.code()).as(r.err()).isZero();
    assertThat(SafeTensors.metadata(tmp.resolve("o.safetensors"))).containsEntry("config.vit", config);
    // a checkpoint that has its config refuses a second one
    badInput(run("export", "--checkpoint", p(checkpoint), "--config", p(json), "--out", p(tmp.resolve("x.safetensors"))),
        "expected no --config");
  }

  @Test
  void imageBombInAFolderIsOneLine() throws Exception {
    Path root = Files.createDirectories(tmp.resolve("bombs/cls"));
    byte[] b = new byte[33];
    ByteBuffer.wrap(b).put(new byte[] {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'}).putInt(13)
        .put("IHDR".getBytes()).putInt(65536).putInt(65536).put((byte) 8).put((byte) 2).put((byte) 0)
        .put((byte) 0).put((byte) 0);
    CRC32 crc = new CRC32();
    crc.update(b, 12, 17);
    ByteBuffer.wrap(b, 29, 4).putInt((int) crc.getValue());
    Files.write(root.resolve("bomb.png"), b);
    badInput(run("embed", "--checkpoint", p(checkpoint), "--images", p(root.getParent()), "--out",
        p(tmp.resolve("b.npy"))), "bomb.png: expected dimensions with 1 to 8388608 pixels");
  }

  @Test
  void generateSizeAndCaptionsAreChecked() throws Exception {
    Path model = Files.createDirectories(tmp.resolve("model"));
    Path captions = Files.writeString(tmp.resolve("captions.txt"), "a cat\n");
    badInput(run("generate", "--model", p(model), "--captions", p(captions), "--out", p(tmp.resolve("g")),
        "--generated-size", "65536"), "--generated-size: expected a multiple of 8 in [8, 4096], found 65536");
    Path latin1 = Files.write(tmp.resolve("latin1.txt"), new byte[] {'c', 'a', 'f', (byte) 0xE9, '\n'});
    org.assertj.core.api.Assertions.assertThatThrownBy(() -> io.github.stablerep.examples.GenerationJob.readCaptions(latin1))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("captions " + latin1 + ": expected UTF-8 text, found malformed bytes");
  }

  @Test
  void checkpointThatIsAFolderIsNamed() throws Exception {
    Path folder = Files.createDirectories(tmp.resolve("dir.safetensors"));
    StableRepCliTest.Run r = run("embed", "--checkpoint", p(folder), "--images", p(images), "--out",
        p(tmp.resolve("d.npy")));
    badInput(r, p(folder));
  }

  @Test
  void controlCharactersInMessagesAreEscaped() {
    assertThat(StableRepCli.message(new IllegalArgumentException("bad\u0000name"))).isEqualTo("bad\\u0000name");
    assertThat(StableRepCli.message(new java.nio.file.FileAlreadyExistsException("/x/out.npy")))
        .isEqualTo("expected a path that does not exist yet, found an existing file at /x/out.npy");
  }

  /** A manifest naming images outside its folder: refused by default, read with --paths-anywhere. */
  @Test
  void pathsOutsideAManifestsFolderNeedTheOptIn() throws Exception {
    Path listing = Files.createDirectories(tmp.resolve("listing"));
    StringBuilder csv = new StringBuilder("path,label\n");
    try (var s = Files.walk(images)) {
      s.filter(f -> f.toString().endsWith(".png")).sorted()
          .forEach(f -> csv.append(f.toAbsolutePath()).append(',').append(f.getParent().getFileName()
              .toString().replace("class", "")).append('\n'));
    }
    Path manifest = Files.writeString(listing.resolve("m.csv"), csv);
    Path out = tmp.resolve("outside.npy");
    badInput(run("embed", "--checkpoint", p(checkpoint), "--images", p(manifest), "--out", p(out)), p(manifest));
    assertThat(out).doesNotExist();
    StableRepCliTest.Run ok = run("embed", "--checkpoint", p(checkpoint), "--images", p(manifest), "--out", p(out),
        "--paths-anywhere");
    assertThat(ok.code()).as(ok.err()).isZero();
    assertThat(out).exists();
  }
}
