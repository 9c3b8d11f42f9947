package io.github.stablerep.models;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.factory.Nd4j;

class WeightReportTest {

  @Test
  void sortsAndClassifiesAndStaysImmutable() {
    WeightReport r = WeightReport.builder("for x").loaded("b").loaded("a").unexpected("z").ignored("head.w").build();
    assertThat(r.loaded()).containsExactly("a", "b");
    assertThat(r.isComplete()).isTrue();
    assertThat(r.requireComplete()).isSameAs(r);
    assertThatThrownBy(r::requireStrict).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("weights for x: 2 loaded, 0 missing, 0 mis-shaped, 1 unexpected, 1 ignored")
        .hasMessageContaining("unexpected 'z'").hasMessageNotContaining("head.w");
    assertThatThrownBy(() -> r.loaded().add("c")).isInstanceOf(UnsupportedOperationException.class);
  }

  @Test
  void missingAndMisShapedAreFatalWithEveryOffender() {
    WeightReport r = WeightReport.builder("f.safetensors").missing("w", new long[] {2, 3})
        .mismatched("b", new long[] {3}, Nd4j.zeros(DataType.INT, 4)).mismatched("c", new long[] {1}, null).build();
    assertThat(r.isComplete()).isFalse();
    assertThatThrownBy(r::requireComplete).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("missing 'w': expected shape [2, 3], found none")
        .hasMessageContaining("mis-shaped 'b': expected shape [3] (floating point), found [4] INT")
        .hasMessageContaining("mis-shaped 'c': expected shape [1] (floating point), found null");
  }

  @Test
  void listsTwentyUnexpectedKeysAndCountsTheRest() {
    WeightReport.Builder b = WeightReport.builder("s");
    for (int i = 0; i < 25; i++) {
      b.unexpected(String.format("k%02d", i));
    }
    assertThat(b.build().toString()).contains("unexpected 'k19'").doesNotContain("'k20'").contains("and 5 more");
  }

  @Test
  void fitsNeedsShapeAndFloatingType() {
    assertThat(WeightReport.fits(new long[] {2}, Nd4j.zeros(DataType.FLOAT, 2))).isTrue();
    assertThat(WeightReport.fits(new long[] {2}, Nd4j.zeros(DataType.LONG, 2))).isFalse();
    assertThat(WeightReport.fits(new long[] {2}, Nd4j.zeros(DataType.FLOAT, 3))).isFalse();
    assertThat(WeightReport.fits(new long[] {2}, null)).isFalse();
  }
}
