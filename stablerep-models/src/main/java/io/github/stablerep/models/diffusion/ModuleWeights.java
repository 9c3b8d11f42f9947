package io.github.stablerep.models.diffusion;

import static com.google.common.base.Preconditions.checkArgument;

import io.github.stablerep.core.io.SafeTensors;
import io.github.stablerep.models.WeightReport;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Predicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.autodiff.samediff.VariableType;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.slf4j.LoggerFactory;

/**
 * Diffusers state dicts for the UNet and the VAE: reading a component folder, the legacy VAE
 * attention names, the check against the expected keys and shapes, and the conversion to the
 * graph's layouts (conv OIYX -> YXIO, linear transposed, half precision upcast).
 */
final class ModuleWeights {
  static final String WEIGHTS = "diffusion_pytorch_model.safetensors";
  static final String WEIGHTS_FP16 = "diffusion_pytorch_model.fp16.safetensors";

  /** Pre-0.14 diffusers VAE checkpoints name the attention projections query/key/value/proj_attn. */
  private static final Pattern LEGACY_ATTENTION =
      Pattern.compile("(.*\\.attentions\\.\\d+\\.)(query|key|value|proj_attn)\\.(weight|bias)");
  private static final Map<String, String> LEGACY_NAMES =
      Map.of("query", "to_q", "key", "to_k", "value", "to_v", "proj_attn", "to_out.0");

  private ModuleWeights() {}

  /** The weights file of a component folder: the fp32 file, else the fp16 variant. */
  static Path weightsFile(Path folder) {
    checkArgument(folder != null && Files.isDirectory(folder),
        "componentFolder: expected a diffusers component folder (config.json + %s), found %s", WEIGHTS,
        folder == null ? "null" : folder + (Files.exists(folder) ? " (not a folder)" : " (missing)"));
    for (String name : List.of(WEIGHTS, WEIGHTS_FP16)) {
      Path p = folder.resolve(name);
      if (Files.isRegularFile(p)) {
        return p;
      }
    }
    throw new IllegalArgumentException("componentFolder " + folder + ": expected " + WEIGHTS + " or " + WEIGHTS_FP16
        + ", found neither");
  }

  static Map<String, INDArray> read(Path file) {
    try {
      return SafeTensors.read(file);
    } catch (IOException e) {
      throw new UncheckedIOException("weights " + file + ": cannot be read", e);
    }
  }

  /** The state dict with legacy attention names replaced by today's. */
  static Map<String, INDArray> remapLegacy(Map<String, INDArray> weights) {
    Map<String, INDArray> out = new LinkedHashMap<>();
    for (Map.Entry<String, INDArray> e : weights.entrySet()) {
      Matcher m = LEGACY_ATTENTION.matcher(e.getKey());
      String key = m.matches() ? m.group(1) + LEGACY_NAMES.get(m.group(2)) + "." + m.group(3) : e.getKey();
      checkArgument(out.put(key, e.getValue()) == null,
          "weights: expected one tensor per parameter, found %s under both its legacy and its current name", key);
    }
    return out;
  }

  /** Compares (remapped) weights with the expected PyTorch shapes and reports every offender. */
  static WeightReport check(String source, Map<String, long[]> expected, Map<String, INDArray> weights) {
    return check(source, expected, weights, k -> false);
  }

  /** As above; keys outside {@code expected} that {@code ignore} accepts are ignored, not unexpected. */
  static WeightReport check(String source, Map<String, long[]> expected, Map<String, INDArray> weights,
      Predicate<String> ignore) {
    WeightReport.Builder r = WeightReport.builder(source);
    for (Map.Entry<String, long[]> e : expected.entrySet()) {
      INDArray a = weights.get(e.getKey());
      if (a == null) {
        r.missing(e.getKey(), e.getValue());
      } else if (!a.dataType().isFPType() || !shapeFits(e.getValue(), a.shape())) {
        r.mismatched(e.getKey(), e.getValue(), a);
      } else {
        r.loaded(e.getKey());
      }
    }
    for (String k : weights.keySet()) {
      if (!expected.containsKey(k)) {
        if (ignore.test(k)) {
          r.ignored(k);
        } else {
          r.unexpected(k);
        }
      }
    }
    return r.build();
  }

  /** The expected shape, or, for a linear weight, the [out, in, 1, 1] of a 1x1 conv (old VAE files). */
  private static boolean shapeFits(long[] expected, long[] found) {
    if (Arrays.equals(expected, found)) {
      return true;
    }
    return expected.length == 2 && found.length == 4 && found[0] == expected[0] && found[1] == expected[1]
        && found[2] == 1 && found[3] == 1;
  }

  /** A PyTorch tensor in the graph's layout and type; {@code torchShape} is the expected shape. */
  static INDArray toGraphLayout(INDArray torch, long[] torchShape, DataType type) {
    INDArray a = torch;
    if (torchShape.length == 4) {
      a = a.permute(2, 3, 1, 0);
    } else if (torchShape.length == 2) {
      a = a.reshape(torchShape[0], torchShape[1]).transpose();
    }
    return a.castTo(type).dup('c');
  }

  /** Checked and converted weights for every expected key; throws with the full report if incomplete. */
  static Map<String, INDArray> convert(String source, Map<String, long[]> expected, Map<String, INDArray> weights,
      DataType type, List<WeightReport> reportOut) {
    Map<String, INDArray> remapped = remapLegacy(weights);
    WeightReport report = check(source, expected, remapped).requireComplete();
    reportOut.add(report);
    Map<String, INDArray> out = new LinkedHashMap<>();
    expected.forEach((k, shape) -> out.put(k, toGraphLayout(remapped.get(k), shape, type)));
    return out;
  }

  /**
   * A component's weights file (found by {@link #weightsFile} before the config is read, so a
   * folder without weights fails first), checked against {@code expected} and converted to the
   * graph layout. Missing or mis-shaped keys throw with the full report; unexpected ones are
   * logged.
   */
  static Map<String, INDArray> readPretrained(Path file, Map<String, long[]> expected, DataType type) {
    List<WeightReport> report = new ArrayList<>(1);
    Map<String, INDArray> converted = convert(file.toString(), expected, read(file), type, report);
    warnUnexpected(report.get(0));
    return converted;
  }

  /** Unexpected keys are not fatal (see {@link WeightReport}) but are said. */
  static void warnUnexpected(WeightReport report) {
    if (!report.unexpected().isEmpty()) {
      LoggerFactory.getLogger(ModuleWeights.class).warn("{}", report);
    }
  }

  /** The number of scalars in a set of PyTorch shapes. */
  static long parameterCount(Map<String, long[]> shapes) {
    return shapes.values().stream().mapToLong(s -> Arrays.stream(s).reduce(1, Math::multiplyExact)).sum();
  }

  /** The variables a module created in {@code sd} under {@code scope}, with their PyTorch shapes. */
  static Map<String, long[]> expectedFromGraph(SameDiff sd, String scope) {
    Map<String, long[]> expected = new LinkedHashMap<>();
    String prefix = scope + "/";
    for (SDVariable v : sd.variables()) {
      if (v.getVariableType() == VariableType.VARIABLE && v.name().startsWith(prefix)) {
        long[] s = v.getArr().shape();
        long[] torch = switch (s.length) {
          case 4 -> new long[] {s[3], s[2], s[0], s[1]};
          case 2 -> new long[] {s[1], s[0]};
          default -> s.clone();
        };
        expected.put(v.name().substring(prefix.length()), torch);
      }
    }
    checkArgument(!expected.isEmpty(), "sd: expected the variables of a module named '%s', found none", scope);
    return expected;
  }

  /**
   * Loads diffusers-named weights into the variables a module created in {@code sd}. Nothing is
   * assigned unless every parameter is present with its shape; the exception lists each offender.
   */
  static WeightReport load(SameDiff sd, String scope, Map<String, INDArray> weights, String source) {
    return load(sd, scope, weights, source, k -> false);
  }

  /** As above; keys {@code ignore} accepts (parts of the module not defined in sd) are ignored. */
  static WeightReport load(SameDiff sd, String scope, Map<String, INDArray> weights, String source,
      Predicate<String> ignore) {
    checkArgument(weights != null, "weights: expected a state dict, found null");
    Map<String, long[]> expected = expectedFromGraph(sd, scope);
    Map<String, INDArray> remapped = remapLegacy(weights);
    WeightReport report = check(source, expected, remapped, ignore).requireComplete();
    warnUnexpected(report);
    // one tensor at a time: a converted copy of a whole SD UNet would be gigabytes
    expected.forEach((k, shape) -> {
      INDArray target = sd.getVariable(scope + "/" + k).getArr();
      target.assign(toGraphLayout(remapped.get(k), shape, target.dataType()));
    });
    return report;
  }
}
