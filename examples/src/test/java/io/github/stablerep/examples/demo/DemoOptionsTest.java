package io.github.stablerep.examples.demo;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;

class DemoOptionsTest {

  @Test
  void parsesEveryOptionAndJoinedArguments() {
    DemoOptions o = DemoOptions.parse(" --seed 7  --steps 12 ", "--size", "reduced", "--resume", "--out", "x");
    assertThat(o.seed()).isEqualTo(7);
    assertThat(o.steps()).isEqualTo(12);
    assertThat(o.size()).isEqualTo(DemoOptions.Size.REDUCED);
    assertThat(o.resume()).isTrue();
    assertThat(o.out()).isEqualTo(Path.of("x"));
    assertThat(DemoOptions.parse()).isEqualTo(DemoOptions.defaults());
    assertThat(DemoOptions.parse("--help")).isNull();
  }

  @Test
  void badArgumentsGetOneClearLine() {
    assertThatThrownBy(() -> DemoOptions.parse("--steps", "many")).hasMessage("--steps: expected a whole number, found 'many'");
    assertThatThrownBy(() -> DemoOptions.parse("--steps", "0")).hasMessage("--steps: expected >= 1, found 0");
    assertThatThrownBy(() -> DemoOptions.parse("--size", "huge")).hasMessage("--size: expected full or reduced, found 'huge'");
    assertThatThrownBy(() -> DemoOptions.parse("--bogus", "1")).hasMessage("unknown option --bogus (see --help)");
    assertThatThrownBy(() -> DemoOptions.parse("--seed")).hasMessage("option --seed expects a value");
    assertThatThrownBy(() -> DemoOptions.parse("--data", "/no/such/dir"))
        .hasMessageContaining("--data: expected an existing folder or manifest, found /no/such/dir");
    assertThatThrownBy(() -> DemoOptions.parse("--generator", "/no/such/sd"))
        .hasMessageContaining("--generator: expected a diffusers model folder");
  }

  @Test
  void dataThatIsNoKnownLayoutIsNamed(@org.junit.jupiter.api.io.TempDir Path dir) {
    assertThatThrownBy(() -> DemoData.load(dir, dir.resolve("work"), 28, 10, 10))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("expected a folder with train-images-idx3-ubyte[.gz]");
  }
}
