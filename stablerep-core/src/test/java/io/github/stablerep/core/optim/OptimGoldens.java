package io.github.stablerep.core.optim;

import io.github.stablerep.core.Goldens;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.nd4j.linalg.api.ndarray.INDArray;

/** The run that tools/reference/optim_reference.py recorded with torch.optim.AdamW. */
final class OptimGoldens {

  static final Path DIR = Goldens.dir("optim");
  static final List<String> NAMES =
      List.of("fc1.weight", "fc1.bias", "fc2.weight", "proj.bias", "norm.weight", "logit_scale", "tiny");

  final double[] config = Goldens.npy(DIR, "config").toDoubleVector();
  final double[] lr = Goldens.npy(DIR, "lr").toDoubleVector();
  final double[] clipNorm = Goldens.npy(DIR, "clip_norm").toDoubleVector();

  int steps() {
    return lr.length;
  }

  double maxNorm() {
    return config[9];
  }

  WarmupCosineSchedule schedule() {
    return WarmupCosineSchedule.builder()
        .baseLr(config[0])
        .minLr(config[1])
        .epochs(config[2], config[3], (long) config[4])
        .build();
  }

  AdamW.Builder adamW() {
    return AdamW.builder()
        .learningRate(schedule())
        .betas(config[5], config[6])
        .epsilon(config[7])
        .weightDecay(config[8]);
  }

  Map<String, INDArray> initialParams() {
    Map<String, INDArray> p = new LinkedHashMap<>();
    for (String n : NAMES) {
      p.put(n, Goldens.npy(DIR, "init_" + n).dup());
    }
    return p;
  }

  /** Raw gradients of step k (before clipping), fresh copies. */
  Map<String, INDArray> grads(int k) {
    return at("grads_", k);
  }

  /** Parameters after step k. */
  Map<String, INDArray> params(int k) {
    return at("params_", k);
  }

  INDArray state(String kind, String name) {
    return Goldens.npy(DIR, kind + "_" + name);
  }

  private Map<String, INDArray> at(String prefix, int k) {
    Map<String, INDArray> out = new LinkedHashMap<>();
    for (String n : NAMES) {
      INDArray all = Goldens.npy(DIR, prefix + n);
      long[] rest = Arrays.copyOfRange(all.shape(), 1, all.rank());
      INDArray row = all.reshape(all.size(0), -1).getRow(k).dup();
      out.put(n, rest.length == 0 ? row.reshape() : row.reshape(rest));
    }
    return out;
  }
}
