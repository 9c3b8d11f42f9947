package io.github.stablerep.models.diffusion;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.stablerep.core.Goldens;
import io.github.stablerep.core.io.StrictJson;
import java.io.IOException;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * β and ᾱ against diffusers' DDIMScheduler (golden/schedulers/betas.json) for every beta_schedule
 * and T in {1, 2, 17, 37, 100, 1000, 1500}, so that torch's float32 linspace is checked on its
 * short, odd and long code paths. Tolerance 1e-6 relative per element; measured: 0 (bit for bit).
 */
class NoiseScheduleTest {

  @Test
  void betasAndAlphasCumprodMatchDiffusers() throws IOException {
    List<?> rows = (List<?>) StrictJson.parse(
        java.nio.file.Files.readString(Goldens.dir("schedulers").resolve("betas.json")), 8);
    assertThat(rows.size()).isEqualTo(21);
    double worst = 0;
    for (Object r : rows) {
      Map<?, ?> row = (Map<?, ?>) r;
      BetaSchedule schedule = BetaSchedule.fromConfigName((String) row.get("beta_schedule"), "betas.json");
      int t = Math.toIntExact(StrictJson.exactLong(row.get("num_train_timesteps")));
      float[] betas = NoiseSchedule.betas(t, ((Number) row.get("beta_start")).doubleValue(),
          ((Number) row.get("beta_end")).doubleValue(), schedule, null);
      float[] alphas = NoiseSchedule.alphasCumprod(betas);
      String label = schedule.configName() + " T=" + t;
      worst = Math.max(worst, compare(label + " betas", row.get("betas"), betas));
      worst = Math.max(worst, compare(label + " alphas_cumprod", row.get("alphas_cumprod"), alphas));
    }
    System.out.printf("beta schedules: max relative error %.3g%n", worst);
  }

  private static double compare(String what, Object expectedJson, float[] actual) {
    List<?> expected = (List<?>) expectedJson;
    assertThat(actual).as(what).hasSize(expected.size());
    double worst = 0;
    for (int i = 0; i < actual.length; i++) {
      double e = ((Number) expected.get(i)).doubleValue();
      double err = Math.abs(actual[i] - e) / Math.abs(e);
      assertThat(err).as(what + "[" + i + "]: expected " + e + ", found " + actual[i]).isLessThanOrEqualTo(1e-6);
      worst = Math.max(worst, err);
    }
    return worst;
  }
}
