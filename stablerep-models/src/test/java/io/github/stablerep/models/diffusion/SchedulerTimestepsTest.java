package io.github.stablerep.models.diffusion;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.github.stablerep.core.Goldens;
import io.github.stablerep.core.io.StrictJson;
import java.io.IOException;
import java.nio.file.Files;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Timestep grids against diffusers (golden/schedulers/timesteps_table.json): every scheduler,
 * spacing and steps_offset, n from 1 to 1000, PNDM with and without PRK. Exact, since a grid
 * that rounds one value differently conditions the model on another timestep. Where diffusers
 * yields a timestep outside [0, T) (leading spacing, offset 1, n = T), setTimesteps must refuse,
 * and also where PNDM's PRK warm-up would take half steps of length 0 (n > T / 2). Where diffusers'
 * trailing grid ends in a spurious −1, the golden is diffusers' list without it.
 */
class SchedulerTimestepsTest {

  @Test
  void gridsMatchDiffusersExactly() throws IOException {
    List<?> rows = (List<?>) StrictJson.parse(
        Files.readString(Goldens.dir("schedulers").resolve("timesteps_table.json")), 8);
    assertThat(rows.size()).isGreaterThan(400);
    int refused = 0;
    for (Object r : rows) {
      Map<?, ?> row = (Map<?, ?>) r;
      SchedulerType type = SchedulerType.valueOf((String) row.get("type"));
      int steps = Math.toIntExact(StrictJson.exactLong(row.get("steps")));
      String config = StrictJson.write(row.get("config"));
      String label = type + " " + config + " steps " + steps;
      Scheduler s = Scheduler.create(type, DiffusersConfig.parse(config, label));
      if (row.containsKey("prk_zero_half_step")) {
        assertThatThrownBy(() -> s.setTimesteps(steps)).as(label)
            .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("PRK warm-up");
        continue;
      }
      if (row.containsKey("out_of_range")) {
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
    assertThat(rows).anyMatch(r -> ((Map<?, ?>) r).containsKey("dropped_minus_one"));
  }

  private static long[] longs(Object a) {
    return ((List<?>) a).stream().mapToLong(StrictJson::exactLong).toArray();
  }

  private static double[] doubles(Object a) {
    return ((List<?>) a).stream().mapToDouble(v -> ((Number) v).doubleValue()).toArray();
  }
}
