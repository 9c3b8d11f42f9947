package io.github.stablerep.core.io;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import org.junit.jupiter.api.Test;

class StrictJsonWriterTest {

  @Property(tries = 300)
  void stringsRoundTrip(@ForAll String s) {
    Object back = StrictJson.parse(StrictJson.write(s), 1);
    assertThat(back).isEqualTo(s);
  }

  @Property(tries = 300)
  void finiteDoublesRoundTripExactly(@ForAll double d) {
    if (!Double.isFinite(d)) {
      assertThatThrownBy(() -> StrictJson.write(d)).isInstanceOf(IllegalArgumentException.class)
          .hasMessageContaining("finite");
      return;
    }
    Object back = StrictJson.parse(StrictJson.write(d), 1);
    assertThat(((BigDecimal) back).doubleValue()).isEqualTo(d);
  }

  @Property(tries = 200)
  void longsRoundTripExactly(@ForAll long v) {
    assertThat(StrictJson.exactLong(StrictJson.parse(StrictJson.write(v), 1))).isEqualTo(v);
  }

  @Property(tries = 100)
  void nestedValuesRoundTripCompactAndPretty(@ForAll("values") Object v) {
    assertThat(normalise(StrictJson.parse(StrictJson.write(v), 64))).isEqualTo(normalise(v));
    assertThat(normalise(StrictJson.parse(StrictJson.writePretty(v), 64))).isEqualTo(normalise(v));
  }

  @Provide
  Arbitrary<Object> values() {
    Arbitrary<Object> leaf = Arbitraries.oneOf(
        Arbitraries.strings().ofMaxLength(8).map(s -> (Object) s),
        Arbitraries.longs().map(l -> (Object) l),
        Arbitraries.of(true, false).map(b -> (Object) b),
        Arbitraries.just(StrictJson.NULL));
    return Arbitraries.recursive(() -> leaf, inner -> Arbitraries.oneOf(
        inner.list().ofMaxSize(4).map(l -> (Object) l),
        Arbitraries.maps(Arbitraries.strings().ofMaxLength(6), inner).ofMaxSize(4)
            .map(m -> (Object) new LinkedHashMap<>(m))), 4);
  }

  /** Parsed numbers are BigDecimal: compare numbers by value. */
  private static Object normalise(Object v) {
    if (v instanceof Number n) {
      return new BigDecimal(n.toString()).stripTrailingZeros();
    } else if (v instanceof Map<?, ?> m) {
      Map<String, Object> out = new LinkedHashMap<>();
      m.forEach((k, x) -> out.put((String) k, normalise(x)));
      return out;
    } else if (v instanceof List<?> l) {
      List<Object> out = new ArrayList<>();
      l.forEach(x -> out.add(normalise(x)));
      return out;
    }
    return v;
  }

  @Test
  void escapesControlCharactersQuotesAndLoneSurrogates() {
    assertThat(StrictJson.write("a\"b\\c\n\u0001\u2028\ud800")).isEqualTo("\"a\\\"b\\\\c\\n\\u0001\\u2028\\ud800\"");
    assertThat(StrictJson.write("\ud83d\ude00")).isEqualTo("\"\ud83d\ude00\"");
  }

  @Test
  void writesArraysEnumsAndNull() {
    Map<String, Object> m = new LinkedHashMap<>();
    m.put("a", new long[] {1, 2});
    m.put("b", new long[][] {{3}, {}});
    m.put("c", Thread.State.NEW);
    m.put("d", null);
    m.put("e", 0.5f);
    assertThat(StrictJson.write(m)).isEqualTo("{\"a\":[1,2],\"b\":[[3],[]],\"c\":\"NEW\",\"d\":null,\"e\":0.5}");
    assertThat(StrictJson.writePretty(m)).isEqualTo(
        "{\n  \"a\": [1, 2],\n  \"b\": [[3], []],\n  \"c\": \"NEW\",\n  \"d\": null,\n  \"e\": 0.5\n}\n");
  }

  @Test
  void refusesNonFiniteNumbersNamingThePath() {
    Map<String, Object> m = Map.of("linear", Map.of("top1", Double.NaN));
    assertThatThrownBy(() -> StrictJson.write(m)).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("$.linear.top1").hasMessageContaining("finite");
    assertThatThrownBy(() -> StrictJson.write(List.of(new Object()))).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("$[0]");
  }

  @Test
  void pythonLiteralsOnlyWhenAsked() {
    String text = "{\"a\": -Infinity, \"b\": NaN, \"c\": Infinity, \"d\": -1}";
    Map<?, ?> m = (Map<?, ?>) StrictJson.parsePythonJson(text, 2);
    assertThat(m.get("a")).isEqualTo(Double.NEGATIVE_INFINITY);
    assertThat((Double) m.get("b")).isNaN();
    assertThat(m.get("c")).isEqualTo(Double.POSITIVE_INFINITY);
    assertThat(m.get("d")).isEqualTo(new BigDecimal("-1"));
    assertThatThrownBy(() -> StrictJson.parse(text, 2)).isInstanceOf(StrictJson.SyntaxException.class)
        .hasMessageContaining("Infinity");
    assertThatThrownBy(() -> StrictJson.parsePythonJson("-Inf", 2)).isInstanceOf(StrictJson.SyntaxException.class);
    assertThatThrownBy(() -> StrictJson.parsePythonJson("Nan", 2)).isInstanceOf(StrictJson.SyntaxException.class);
  }
}
