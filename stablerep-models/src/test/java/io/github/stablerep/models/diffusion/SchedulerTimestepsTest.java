package io.github.stablerep.models.diffusion;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.github.stablerep.core.Goldens;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.nd4j.shade.jackson.databind.JsonNode;
import org.nd4j.shade.jackson.databind.ObjectMapper;

/**
 * Timestep grids against diffusers (golden/schedulers/timesteps_table.json): every scheduler,
 * spacing and steps_offset, n from 1 to 1000, PNDM with and without PRK. Exact, since a grid
 * that rounds one value differently conditions the model on another timestep. Where diffusers
 * yields a timestep outside [0, T) (leading spacing, offset 1, n = T), setTimesteps must refuse,
 * and also where PNDM's PRK warm-up would take half steps of length 0 (n > T / 2). Where diffusers'
 * trailing grid ends in a spurious −1, the golden is diffusers' list without it.
 */
class SchedulerTimestepsTest {
  private static final ObjectMapper JSON = new ObjectMapper();

  @Test
  void gridsMatchDiffusersExactly() throws IOException {
    JsonNode rows = JSON.readTree(Goldens.dir("schedulers").resolve("timesteps_table.json").toFile());
    assertThat(rows.size()).isGreaterThan(400);
    int refused = 0;
    for (JsonNode row : rows) {
      SchedulerType type = SchedulerType.valueOf(row.get("type").asText());
      String label = type + " " + row.get("config").toString() + " steps " + row.get("steps").asInt();
      Scheduler s = Scheduler.create(type, DiffusersConfig.parse(row.get("config").toString(), label));
      int steps = row.get("steps").asInt();
      if (row.has("prk_zero_half_step")) {
        assertThatThrownBy(() -> s.setTimesteps(steps)).as(label)
            .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("PRK warm-up");
        continue;
      }
      if (row.has("out_of_range")) {
        assertThatThrownBy(() -> s.setTimesteps(steps)).as(label)
            .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("outside [0, 1000)");
        refused++;
        continue;
      }
      s.setTimesteps(steps);
      assertThat(s.timesteps()).as(label).containsExactly(longs(row.get("timesteps")));
      if (type == SchedulerType.EULER) {
        assertThat(s.modelTimesteps()).as(label).containsExactly(doubles(row.get("model_timesteps")));
      } else {
        assertThat(s.modelTimesteps()).as(label).containsExactly(doubles(row.get("timesteps")));
      }
    }
    assertThat(refused).isGreaterThan(0);
    assertThat(rows).anyMatch(r -> r.has("dropped_minus_one"));
  }

  private static long[] longs(JsonNode a) {
    List<Long> out = new ArrayList<>();
    a.forEach(v -> out.add(v.asLong()));
    return out.stream().mapToLong(Long::longValue).toArray();
  }

  private static double[] doubles(JsonNode a) {
    double[] out = new double[a.size()];
    for (int i = 0; i < out.length; i++) {
      out[i] = a.get(i).asDouble();
    }
    return out;
  }
}
