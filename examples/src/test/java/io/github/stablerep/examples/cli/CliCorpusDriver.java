package io.github.stablerep.examples.cli;

import io.github.stablerep.core.io.Npy;
import io.github.stablerep.core.io.SafeTensors;
import io.github.stablerep.eval.hostile.HostileCorpus;
import io.github.stablerep.examples.TinyStableDiffusion;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.function.Function;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Drives the command line over issue 13's hostile corpus and a catalogue of bad command lines,
 * in a JVM that {@link StableRepCliCorpusTest} starts under a memory cap (heap and JavaCPP's
 * native bytes). Every run must end with exit 0 and a sane output, or exit 2 and one line that
 * names the input: no stack trace, no other exit code, no run over {@value #MAX_MILLIS} ms.
 *
 * <p>Arguments: a scratch folder and the report file to write. Exit status 0 when every run ended
 * one of the two ways, 1 otherwise (the report lists the others).
 */
final class CliCorpusDriver {

  /**
   * A run may take this long, or {@value #SLOWDOWN} times what the same command took on valid
   * input in this JVM, whichever is more (so a loaded machine does not fail the test, and a stall
   * still does).
   */
  static final long MAX_MILLIS = 10_000;
  static final int SLOWDOWN = 4;
  /** Byte mutants and truncations taken per reader (all valid inputs and attacks are taken). */
  static final int MUTANTS_PER_READER = 12;

  private final Path scratch;
  private final Map<String, int[]> tally = new TreeMap<>(); // accepted, refused
  private final List<String> problems = new ArrayList<>();
  /** Milliseconds each command took on valid input. */
  private final Map<String, Long> baseline = new TreeMap<>();
  private int runs;

  private CliCorpusDriver(Path scratch) {
    this.scratch = scratch;
  }

  record Outcome(int code, String out, String err, long millis) {}

  static Outcome cli(String... args) {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    ByteArrayOutputStream err = new ByteArrayOutputStream();
    long t0 = System.nanoTime();
    int code;
    try (PrintStream o = new PrintStream(out, true, StandardCharsets.UTF_8);
        PrintStream e = new PrintStream(err, true, StandardCharsets.UTF_8)) {
      code = StableRepCli.execute(o, e, args);
    }
    return new Outcome(code, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8),
        (System.nanoTime() - t0) / 1_000_000);
  }

  /** Runs a valid command line and keeps its time as the command's baseline. */
  Outcome timed(String command, String... args) {
    Outcome o = cli(args);
    baseline.merge(command, o.millis(), Math::max);
    return o;
  }

  /** The last line of stderr: progress bars may precede a failure. */
  static String lastLine(String err) {
    String[] lines = err.strip().split("[\r\n]+");
    return lines[lines.length - 1];
  }

  /**
   * Records one run. {@code accepted} checks the outputs of an exit-0 run and returns null when
   * they are sane; {@code mustName} is a string the refusal's line must contain (the input).
   */
  void judge(String group, String id, Outcome o, String mustName, Function<Outcome, String> accepted) {
    runs++;
    int[] counts = tally.computeIfAbsent(group, k -> new int[2]);
    String err = o.err();
    String command = group.startsWith("command line / ") ? group.substring(15) : group.split(" ")[0];
    long limit = Math.max(MAX_MILLIS, SLOWDOWN * baseline.getOrDefault(command, 0L));
    if (o.millis() > limit) {
      problems.add(group + " " + id + ": took " + o.millis() + " ms (limit " + limit + " ms)");
    }
    if (err.contains("\tat ") || err.contains("Exception:") || err.contains("Error:") || err.indexOf('\0') >= 0) {
      problems.add(group + " " + id + ": stack trace, exception name or raw NUL on stderr: " + abbreviate(err));
      return;
    }
    if (o.code() == 0) {
      String why = accepted.apply(o);
      if (why == null) {
        counts[0]++;
      } else {
        problems.add(group + " " + id + ": exit 0 but " + why);
      }
    } else if (o.code() == StableRepCli.USAGE_ERROR) {
      String line = lastLine(err);
      if (mustName != null && java.util.Arrays.stream(mustName.split("\\|")).noneMatch(line::contains)) {
        problems.add(group + " " + id + ": the message does not name " + mustName + ": " + abbreviate(line));
      } else {
        counts[1]++;
      }
    } else {
      problems.add(group + " " + id + ": exit " + o.code() + ": " + abbreviate(err));
    }
  }

  static String abbreviate(String s) {
    String one = s.strip().replace("\n", " | ");
    return one.length() > 400 ? one.substring(0, 400) + "..." : one;
  }

  /** The finite float features of an {@code embed} run, or why not. */
  static Function<Outcome, String> features(Path npy) {
    return o -> {
      try {
        INDArray f = Npy.read(npy);
        Files.delete(npy);
        return f.rank() == 2 && f.rows() > 0 && Double.isFinite(f.sumNumber().doubleValue()) ? null
            : "features " + java.util.Arrays.toString(f.shape()) + " not finite [N, D]";
      } catch (Exception e) {
        return "no readable features: " + e;
      }
    };
  }

  static Function<Outcome, String> fileWritten(Path file) {
    return o -> Files.isRegularFile(file) ? null : file + " was not written";
  }

  static Path write(Path dir, Map<String, byte[]> files) throws Exception {
    Files.createDirectories(dir);
    for (Map.Entry<String, byte[]> f : files.entrySet()) {
      Path p = dir.resolve(f.getKey());
      Files.createDirectories(p.getParent());
      Files.write(p, f.getValue());
    }
    return dir;
  }

  /** All valid inputs and attacks, and the first few mutants and truncations, of one reader. */
  static List<HostileCorpus.Case> sample(List<HostileCorpus.Case> all, String reader) {
    List<HostileCorpus.Case> out = new ArrayList<>();
    Map<String, Integer> taken = new LinkedHashMap<>();
    for (HostileCorpus.Case c : all) {
      if (!c.reader().equals(reader)) {
        continue;
      }
      String kind = c.name().startsWith("mutant") ? "mutant" : c.name().startsWith("truncated") ? "truncated" : "other";
      int n = taken.merge(kind, 1, Integer::sum);
      if (kind.equals("other") || n <= MUTANTS_PER_READER) {
        out.add(c);
      }
    }
    return out;
  }

  void run() throws Exception {
    Path images = scratch.resolve("fixture-images");
    StableRepCliTest.writeClasses(images, 2, 6, new Random(1));
    Path checkpoint = scratch.resolve("fixture.safetensors");
    Outcome trained = timed("pretrain", "pretrain", "--data", images.toString(), "--checkpoint", checkpoint.toString(),
        "--image-size", "16", "--patch-size", "8", "--width", "16", "--depth", "1", "--heads", "2",
        "--head-hidden", "32", "--head-dim", "8", "-n", "2", "-m", "2", "--steps", "1", "--threads", "1");
    if (trained.code() != 0) {
      throw new IllegalStateException("the fixture checkpoint was not trained: " + trained.err());
    }
    Path weights = scratch.resolve("fixture-timm.safetensors");
    if (timed("export", "export", "--checkpoint", checkpoint.toString(), "--out", weights.toString()).code() != 0) {
      throw new IllegalStateException("the fixture checkpoint was not exported");
    }
    Path features = scratch.resolve("fixture-features.npy");
    Path labels = scratch.resolve("fixture-labels.npy");
    if (timed("embed", "embed", "--checkpoint", checkpoint.toString(), "--images", images.toString(), "--out",
        features.toString(), "--labels-out", labels.toString()).code() != 0) {
      throw new IllegalStateException("the fixture features were not embedded");
    }
    Path model = TinyStableDiffusion.folder(scratch.resolve("model-cache"));
    timed("probe", "probe", "--train", features.toString(), "--train-labels", labels.toString(), "--test",
        features.toString(), "--test-labels", labels.toString(), "--lambdas", "1", "--lambda-max", "1e-6",
        "--max-iterations", "20", "--out", scratch.resolve("baseline.json").toString());
    timed("generate", "generate", "--model", model.toString(), "--captions",
        Files.writeString(scratch.resolve("baseline.txt"), "a photo of a dark coat\n").toString(), "--out",
        scratch.resolve("baseline-gen").toString(), "--images", "1", "--steps", "1", "--batch", "1", "--size", "32",
        "--generated-size", "32");
    corpus(images, checkpoint, features, labels);
    captionFiles(model);
    BadCommandLines.all(scratch, model, images, checkpoint, weights, features, labels)
        .forEach(b -> judge("command line / " + b.command(), String.join(" ", b.args()), cli(b.args()), b.mustName(),
            o -> "a bad command line was accepted"));
  }

  private void corpus(Path images, Path checkpoint, Path features, Path labels) throws Exception {
    List<HostileCorpus.Case> all = HostileCorpus.generate(13);
    int i = 0;
    // the three layouts embed reads: a flat folder, an ImageFolder, a manifest inside its folder
    String[][] layouts = {{HostileCorpus.IMAGES, "flat folder", ""}, {HostileCorpus.IMAGE_FOLDER, "ImageFolder", ""},
        {HostileCorpus.MANIFEST, "manifest", "m.csv"}};
    for (String[] layout : layouts) {
      for (HostileCorpus.Case c : sample(all, layout[0])) {
        Path dir = write(scratch.resolve("c" + i++), c.files());
        Path out = scratch.resolve("f.npy");
        judge("embed --images (" + layout[1] + ") / " + layout[0], c.name(),
            cli("embed", "--checkpoint", checkpoint.toString(), "--images", dir.resolve(layout[2]).toString(),
                "--out", out.toString()), dir.toString(), features(out));
      }
    }
    for (HostileCorpus.Case c : sample(all, HostileCorpus.SAFETENSORS)) {
      Path file = write(scratch.resolve("c" + i++), c.files()).resolve(c.name());
      Path out = scratch.resolve("f.npy");
      judge("embed --weights / " + HostileCorpus.SAFETENSORS, c.name(),
          cli("embed", "--weights", file.toString(), "--images", images.toString(), "--out", out.toString()),
          file.toString(), features(out));
    }
    for (HostileCorpus.Case c : sample(all, HostileCorpus.CHECKPOINT)) {
      Path file = write(scratch.resolve("c" + i++), c.files()).resolve(c.name());
      Path out = scratch.resolve("f.npy");
      judge("embed --checkpoint / " + HostileCorpus.CHECKPOINT, c.name(),
          cli("embed", "--checkpoint", file.toString(), "--images", images.toString(), "--out", out.toString()),
          file.toString(), features(out));
      Path exported = scratch.resolve("e" + i + ".safetensors");
      judge("export --checkpoint / " + HostileCorpus.CHECKPOINT, c.name(),
          cli("export", "--checkpoint", file.toString(), "--out", exported.toString()), file.toString(), o -> {
            try {
              return SafeTensors.read(exported).isEmpty() ? "an empty export" : null;
            } catch (Exception e) {
              return "an unreadable export: " + e;
            }
          });
    }
    for (HostileCorpus.Case c : sample(all, HostileCorpus.NPY)) {
      Path file = write(scratch.resolve("c" + i++), c.files()).resolve(c.name());
      Path json = scratch.resolve("p" + i + ".json");
      judge("probe --train (features) / " + HostileCorpus.NPY, c.name(),
          cli("probe", "--train", file.toString(), "--train-labels", labels.toString(), "--test", features.toString(),
              "--test-labels", labels.toString(), "--lambdas", "1", "--lambda-max", "1e-6", "--max-iterations", "20",
              "--out", json.toString()), file + "|" + labels, fileWritten(json));
    }
    for (HostileCorpus.Case c : sample(all, HostileCorpus.CAPTION_MANIFEST)) {
      Path dir = write(scratch.resolve("c" + i++), c.files());
      Path ckpt = scratch.resolve("k" + i + ".safetensors");
      judge("pretrain --data (manifest) / " + HostileCorpus.CAPTION_MANIFEST, c.name(),
          cli("pretrain", "--data", dir.resolve("m.tsv").toString(), "--checkpoint", ckpt.toString(),
              "--image-size", "16", "--patch-size", "8", "--width", "16", "--depth", "1", "--heads", "2",
              "--head-hidden", "32", "--head-dim", "8", "-n", "2", "-m", "2", "--steps", "1", "--threads", "1"),
          dir + "|--captions-per-batch|--views|--data", fileWritten(ckpt));
    }
  }

  /** Caption files for {@code generate}: encodings, control characters and sizes a text file can have. */
  private void captionFiles(Path model) throws Exception {
    Map<String, byte[]> cases = new LinkedHashMap<>();
    cases.put("valid", "a photo of a dark coat\n".getBytes(StandardCharsets.UTF_8));
    cases.put("not-utf8", new byte[] {'a', ' ', (byte) 0xC3, (byte) 0x28, '\n'});
    cases.put("nul-byte", "a photo\0 of a coat\n".getBytes(StandardCharsets.UTF_8));
    cases.put("utf16-bom", "\uFEFFa photo".getBytes(StandardCharsets.UTF_16));
    cases.put("empty", new byte[0]);
    cases.put("blank-lines", "\n\n  \n".getBytes(StandardCharsets.UTF_8));
    cases.put("line-100k", ("a " + "coat ".repeat(20_000) + "\n").getBytes(StandardCharsets.UTF_8));
    cases.put("emoji-and-rtl", "a \uD83D\uDC57 photo \u202Eof a coat\n".getBytes(StandardCharsets.UTF_8));
    int i = 0;
    for (Map.Entry<String, byte[]> c : cases.entrySet()) {
      Path file = write(scratch.resolve("g" + i), Map.of("captions.txt", c.getValue())).resolve("captions.txt");
      Path out = scratch.resolve("gen" + i++);
      judge("generate --captions", c.getKey(),
          cli("generate", "--model", model.toString(), "--captions", file.toString(), "--out", out.toString(),
              "--images", "1", "--steps", "1", "--batch", "1", "--size", "32", "--generated-size", "32"), file.toString(), o -> {
            try (var s = Files.walk(out)) {
              return s.anyMatch(p -> p.toString().endsWith(".png")) ? null : "no image was written";
            } catch (Exception e) {
              return "no output folder: " + e;
            }
          });
    }
  }

  String report() {
    StringBuilder r = new StringBuilder(String.format("%-62s %6s %9s %9s%n", "command / input", "runs", "exit 0", "exit 2"));
    for (Map.Entry<String, int[]> e : tally.entrySet()) {
      int[] c = e.getValue();
      r.append(String.format("%-62s %6d %9d %9d%n", e.getKey(), c[0] + c[1], c[0], c[1]));
    }
    r.append(String.format("%-62s %6d   (%d other outcomes)%n", "total", runs, problems.size()));
    r.append("baseline ms per command on valid input: ").append(baseline).append('\n');
    problems.forEach(p -> r.append(p).append('\n'));
    return r.toString();
  }

  public static void main(String[] args) throws Exception {
    Nd4j.create(1); // backend start-up outside the first case's clock
    CliCorpusDriver d = new CliCorpusDriver(Files.createDirectories(Path.of(args[0])));
    d.run();
    Files.writeString(Path.of(args[1]), d.report());
    System.exit(d.problems.isEmpty() ? 0 : 1);
  }
}
