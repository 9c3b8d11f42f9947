package io.github.stablerep.examples.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A catalogue of bad command lines: each subcommand's valid arguments with one thing made wrong
 * (a value of the wrong type, out of range or non-finite, a missing or unknown option, a path of
 * the wrong kind). Each must end with exit 2 and a line naming {@link Bad#mustName()}.
 */
final class BadCommandLines {

  private BadCommandLines() {}

  /**
   * One bad command line and the text (an option or a path) its error line must contain; {@code
   * |} separates alternatives.
   */
  record Bad(String command, String[] args, String mustName) {}

  /** Numeric options whose value can be of the wrong type, with values out of their range. */
  private static final Map<String, Map<String, List<String>>> OUT_OF_RANGE = new LinkedHashMap<>();

  static {
    OUT_OF_RANGE.put("pretrain", ranges(
        "--image-size", "0 -16 7", "--patch-size", "0 -8 3", "--width", "0 -16 15", "--depth", "0 -1",
        "--heads", "0 -2 3", "--drop-path", "-0.1 1 1.5", "--head-hidden", "0 -1", "--head-dim", "0 -1",
        "--captions-per-batch", "0 -1", "--views", "0 -1", "--steps", "-1", "--epochs", "0 -1", "--lr", "0 -1e-3", "--min-lr", "-1",
        "--warmup", "-1", "--weight-decay", "-0.1", "--temperature", "0 -0.1", "--checkpoint-every", "0 -1",
        "--threads", "0 -1"));
    OUT_OF_RANGE.put("generate", ranges(
        "--images", "0 -1", "--size", "0 -32", "--generated-size", "0 30 65536", "--steps", "0 -1 100000",
        "--guidance", "-1", "--batch", "0 -1"));
    OUT_OF_RANGE.put("embed", ranges(
        "--image-size", "0 -16", "--resize", "0 -1",
        "--batch", "0 -1"));
    OUT_OF_RANGE.put("probe", ranges(
        "--lambda-min", "0 -1", "--lambda-max", "0 -1", "--lambdas", "0 -1", "--validation-fraction", "0 1 1.5 -0.2",
        "--max-iterations", "0 -1", "--k", "0 -1", "--knn-temperature", "0 -0.07"));
    // export has no numeric option since the architecture comes from the checkpoint's config
    OUT_OF_RANGE.put("export", ranges());
  }

  private static Map<String, List<String>> ranges(String... optionAndValues) {
    Map<String, List<String>> m = new LinkedHashMap<>();
    for (int i = 0; i < optionAndValues.length; i += 2) {
      m.put(optionAndValues[i], Arrays.asList(optionAndValues[i + 1].split(" ")));
    }
    return m;
  }

  /** Options that take a word from a fixed set. */
  private static final Map<String, List<String>> ENUMS = Map.of(
      "pretrain", List.of("--preset"), "generate", List.of("--scheduler"), "embed", List.of("--interpolation",
          "--pooling"), "probe", List.of("--precision"));

  static List<Bad> all(Path scratch, Path tinyModel, Path images, Path checkpoint, Path weights, Path features,
      Path labels) throws IOException {
    Path model = Files.createDirectories(scratch.resolve("not-a-model"));
    Path captions = Files.writeString(scratch.resolve("captions.txt"), "a photo of a coat\n");
    Path aFile = Files.writeString(scratch.resolve("a-file.txt"), "not a folder\n");
    Path aFolder = Files.createDirectories(scratch.resolve("a-folder"));
    Path missing = scratch.resolve("no-such-file");
    Map<String, List<String>> valid = new LinkedHashMap<>();
    valid.put("pretrain", List.of("--data", images.toString(), "--checkpoint", scratch.resolve("bad-ckpt.safetensors")
        .toString(), "--image-size", "16", "--patch-size", "8", "--width", "16", "--depth", "1", "--heads", "2",
        "--head-hidden", "32", "--head-dim", "8", "--captions-per-batch", "2", "--views", "2", "--steps", "1",
        "--threads", "1"));
    valid.put("generate", List.of("--model", tinyModel.toString(), "--captions", captions.toString(), "--out",
        scratch.resolve("bad-gen").toString(), "--generated-size", "32", "--size", "32", "--steps", "1"));
    valid.put("embed", List.of("--checkpoint", checkpoint.toString(), "--images", images.toString(), "--out",
        scratch.resolve("bad-f.npy").toString()));
    valid.put("probe", List.of("--train", features.toString(), "--train-labels", labels.toString(), "--test",
        features.toString(), "--test-labels", labels.toString(), "--out", scratch.resolve("bad-p.json").toString()));
    valid.put("export", List.of("--checkpoint", checkpoint.toString(), "--out",
        scratch.resolve("bad-e.safetensors").toString()));

    List<Bad> out = new ArrayList<>();
    for (Map.Entry<String, Map<String, List<String>>> cmd : OUT_OF_RANGE.entrySet()) {
      String c = cmd.getKey();
      List<String> base = valid.get(c);
      for (Map.Entry<String, List<String>> opt : cmd.getValue().entrySet()) {
        String o = opt.getKey();
        out.add(new Bad(c, with(c, base, o, "abc"), o));
        out.add(new Bad(c, with(c, base, o, "NaN"), o));
        out.add(new Bad(c, with(c, base, o, "1e999999"), o));
        for (String v : opt.getValue()) {
          // a value that breaks a rule between two options may be reported against the other one
          out.add(new Bad(c, with(c, base, o, v), o + "|" + o.replaceFirst("^--", "").replace('-', ' ') + " " + v));
        }
      }
      for (String e : ENUMS.getOrDefault(c, List.of())) {
        out.add(new Bad(c, with(c, base, e, "NO_SUCH_VALUE"), e));
      }
      out.add(new Bad(c, with(c, base, "--no-such-option", "1"), "--no-such-option"));
      out.add(new Bad(c, concat(c, base, List.of(base.get(base.size() - 2))), base.get(base.size() - 2)));
      // each required option left out in turn
      for (int i = 0; i < 4 && i < base.size(); i += 2) {
        if (base.get(i).startsWith("--") && !base.get(i).equals("--train-labels")) {
          List<String> without = new ArrayList<>(base);
          without.remove(i);
          without.remove(i);
          out.add(new Bad(c, concat(c, without, List.of()), base.get(i)));
        }
      }
    }
    // paths of the wrong kind
    List<String> pre = valid.get("pretrain");
    out.add(new Bad("pretrain", with("pretrain", pre, "--data", missing.toString()), missing.toString()));
    out.add(new Bad("pretrain", with("pretrain", pre, "--data", aFile.toString()), aFile.toString()));
    out.add(new Bad("pretrain", with("pretrain", pre, "--checkpoint", aFolder.toString()), aFolder.toString()));
    out.add(new Bad("pretrain", with("pretrain", pre, "--data", images + "\0x"), "--data"));
    List<String> gen = valid.get("generate");
    out.add(new Bad("generate", with("generate", gen, "--model", missing.toString()), missing.toString()));
    out.add(new Bad("generate", with("generate", gen, "--model", aFile.toString()), aFile.toString()));
    out.add(new Bad("generate", with("generate", gen, "--model", model.toString()), model.toString()));
    out.add(new Bad("generate", with("generate", gen, "--captions", missing.toString()), missing.toString()));
    out.add(new Bad("generate", with("generate", gen, "--captions", aFolder.toString()), aFolder.toString()));
    out.add(new Bad("generate", with("generate", gen, "--out", aFile.toString()), aFile.toString()));
    List<String> emb = valid.get("embed");
    out.add(new Bad("embed", with("embed", emb, "--images", missing.toString()), missing.toString()));
    out.add(new Bad("embed", with("embed", emb, "--images", aFile.toString()), aFile.toString()));
    out.add(new Bad("embed", with("embed", emb, "--images", aFolder.toString()), aFolder.toString()));
    out.add(new Bad("embed", with("embed", emb, "--checkpoint", aFolder.toString()), aFolder.toString()));
    out.add(new Bad("embed", with("embed", emb, "--checkpoint", missing.toString()), missing.toString()));
    out.add(new Bad("embed", with("embed", emb, "--checkpoint", aFile.toString()), aFile.toString()));
    out.add(new Bad("embed", with("embed", emb, "--out", aFolder.toString()), aFolder.toString()));
    out.add(new Bad("embed", concat("embed", emb, List.of("--weights", weights.toString())), "--weights"));
    out.add(new Bad("embed", concat("embed", emb, List.of("--labels-out", aFolder.toString())), aFolder.toString()));
    List<String> probe = valid.get("probe");
    out.add(new Bad("probe", with("probe", probe, "--train", missing.toString()), missing.toString()));
    out.add(new Bad("probe", with("probe", probe, "--train", aFile.toString()), aFile.toString()));
    out.add(new Bad("probe", with("probe", probe, "--train-labels", features.toString()), features.toString()));
    out.add(new Bad("probe", with("probe", probe, "--test-labels", missing.toString()), missing.toString()));
    out.add(new Bad("probe", with("probe", probe, "--out", aFolder.toString()), aFolder.toString()));
    List<String> exp = valid.get("export");
    out.add(new Bad("export", with("export", exp, "--checkpoint", weights.toString()), weights.toString()));
    out.add(new Bad("export", with("export", exp, "--checkpoint", aFolder.toString()), aFolder.toString()));
    out.add(new Bad("export", with("export", exp, "--out", aFolder.toString()), aFolder.toString()));
    out.add(new Bad("(none)", new String[] {"no-such-command"}, "no-such-command"));
    out.add(new Bad("(none)", new String[] {}, "expected a command"));
    return out;
  }

  /** The command line with {@code option} set to {@code value} (replacing it, or appended). */
  static String[] with(String command, List<String> base, String option, String value) {
    List<String> args = new ArrayList<>(base);
    int at = args.indexOf(option);
    if (at >= 0) {
      args.set(at + 1, value);
    } else {
      args.add(option);
      args.add(value);
    }
    return concat(command, args, List.of());
  }

  static String[] concat(String command, List<String> base, List<String> more) {
    List<String> args = new ArrayList<>();
    args.add(command);
    args.addAll(base);
    args.addAll(more);
    return args.toArray(String[]::new);
  }
}
