package io.github.stablerep.models.diffusion;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.stablerep.core.Goldens;
import java.io.IOException;
import org.junit.jupiter.api.Test;
import org.nd4j.shade.jackson.databind.JsonNode;
import org.nd4j.shade.jackson.databind.ObjectMapper;

/**
 * β and ᾱ against diffusers' DDIMScheduler (golden/schedulers/betas.json) for every beta_schedule
 * and T in {1, 2, 17, 37, 100, 1000, 1500}, so that torch's float32 linspace is checked on its
 * short, odd and long code paths. Tolerance 1e-6 relative per element; measured: 0 (bit for bit).
 */
class NoiseScheduleTest {

  @Test
  void betasAndAlphasCumprodMatchDiffusers() throws IOException {
    JsonNode rows = new ObjectMapper().readTree(Goldens.dir("schedulers").resolve("betas.json").toFile());
    assertThat(rows.size()).isEqualTo(21);
    double worst = 0;
    for (JsonNode row : rows) {
      BetaSchedule schedule = BetaSchedule.fromConfigName(row.get("beta_schedule").asText(), "betas.json");
      int t = row.get("num_train_timesteps").asInt();
      float[] betas = NoiseSchedule.betas(t, row.get("beta_start").asDouble(), row.get("beta_end").asDouble(),
          schedule, null);
      float[] alphas = NoiseSchedule.alphasCumprod(betas);
      String label = schedule.configName() + " T=" + t;
      worst = Math.max(worst, compare(label + " betas", row.get("betas"), betas));
      worst = Math.max(worst, compare(label + " alphas_cumprod", row.get("alphas_cumprod"), alphas));
    }
    System.out.printf("beta schedules: max relative error %.3g%n", worst);
  }

  private static double compare(String what, JsonNode expected, float[] actual) {
    assertThat(actual).as(what).hasSize(expected.size());
    double worst = 0;
    for (int i = 0; i < actual.length; i++) {
      double e = expected.get(i).asDouble();
      double err = Math.abs(actual[i] - e) / Math.abs(e);
      assertThat(err).as(what + "[" + i + "]: expected " + e + ", found " + actual[i]).isLessThanOrEqualTo(1e-6);
      worst = Math.max(worst, err);
    }
    return worst;
  }
}
