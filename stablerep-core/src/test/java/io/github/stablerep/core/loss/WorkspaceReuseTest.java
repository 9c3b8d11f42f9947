package io.github.stablerep.core.loss;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * The eager loss reuses one workspace across calls of changing sizes (growing, shrinking,
 * distributed and not). Reuse must change no bit of any result.
 */
class WorkspaceReuseTest {

  record Case(INDArray embeddings, long[] ids, int ranks) {}

  @Test
  void reusedWorkspaceGivesBitIdenticalResults() {
    Random rnd = new Random(20231128);
    List<Case> cases = new ArrayList<>();
    for (int k = 0; k < 120; k++) {
      int n = 2 + rnd.nextInt(k % 10 == 0 ? 300 : 40);
      int d = 2 + rnd.nextInt(64);
      long[] ids = new long[n];
      int captions = 1 + rnd.nextInt(Math.max(1, n / 2));
      for (int i = 0; i < n; i++) {
        ids[i] = rnd.nextInt(captions);
      }
      float[] v = new float[n * d];
      double scale = Math.pow(10, -3 + 6 * rnd.nextDouble());
      for (int i = 0; i < v.length; i++) {
        v[i] = (float) (rnd.nextGaussian() * scale);
      }
      cases.add(new Case(Nd4j.create(v, new long[] {n, d}), ids, n % 3 == 0 ? 3 : 1));
    }
    MultiPositiveContrastiveLoss loss = MultiPositiveContrastiveLoss.builder().temperature(0.07).build();
    List<LossResult> with = run(loss, cases);
    List<LossResult> without = run(loss.withoutWorkspaceReuse(), cases);
    for (int k = 0; k < cases.size(); k++) {
      assertThat(with.get(k).value()).as("case %d value", k).isEqualTo(without.get(k).value());
      assertThat(with.get(k).gradient()).as("case %d gradient", k).isEqualTo(without.get(k).gradient());
      assertThat(with.get(k).columnGradient()).as("case %d column gradient", k).isEqualTo(without.get(k).columnGradient());
    }
  }

  /**
   * The seam really switches: a loss built normally leaves the workspace on the thread that ran
   * it, its {@code withoutWorkspaceReuse()} copy does not (each run on a fresh thread, so an
   * earlier test's workspace cannot answer for it), and the setting is the instance's, not
   * process-wide.
   */
  @Test
  void withoutWorkspaceReuseAllocatesNoWorkspace() throws Exception {
    MultiPositiveContrastiveLoss loss = MultiPositiveContrastiveLoss.builder().build();
    INDArray emb = Nd4j.rand(DataType.FLOAT, 6, 4);
    INDArray ids = Nd4j.createFromArray(0L, 0L, 1L, 1L, 2L, 2L);
    assertThat(workspaceAfter(loss.withoutWorkspaceReuse(), emb, ids)).isFalse();
    assertThat(workspaceAfter(loss, emb, ids)).isTrue();
  }

  private static boolean workspaceAfter(MultiPositiveContrastiveLoss loss, INDArray emb,
      INDArray ids) throws Exception {
    boolean[] exists = new boolean[1];
    Throwable[] failure = new Throwable[1];
    Thread t = new Thread(() -> {
      try {
        loss.compute(emb, ids);
        exists[0] = Nd4j.getWorkspaceManager()
            .checkIfWorkspaceExists(ContrastiveKernel.WORKSPACE_ID);
      } catch (Throwable e) {
        failure[0] = e;
      }
    });
    t.start();
    t.join();
    assertThat(failure[0]).isNull();
    return exists[0];
  }

  private static List<LossResult> run(MultiPositiveContrastiveLoss loss, List<Case> cases) {
    List<LossResult> out = new ArrayList<>();
    for (Case c : cases) {
      INDArray ids = Nd4j.createFromArray(c.ids());
      long n = c.embeddings().rows();
      if (c.ranks() == 1) {
        out.add(loss.compute(c.embeddings(), ids));
      } else {
        long local = n / 3;
        out.add(loss.compute(c.embeddings().getRows(rangeOf(local, 2 * local)),
            Nd4j.createFromArray(java.util.Arrays.copyOfRange(c.ids(), (int) local, (int) (2 * local))),
            c.embeddings(), ids, local));
      }
    }
    return out;
  }

  private static int[] rangeOf(long from, long to) {
    int[] r = new int[(int) (to - from)];
    for (int i = 0; i < r.length; i++) {
      r[i] = (int) from + i;
    }
    return r;
  }
}
