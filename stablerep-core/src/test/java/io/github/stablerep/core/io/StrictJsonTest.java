package io.github.stablerep.core.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.math.BigDecimal;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class StrictJsonTest {

  @Test
  void parsesValuesInOrder() {
    Object v = StrictJson.parse(" {\"b\":[1,-2.5e3,true,false,null],\"a\":\"x\\u00e9\\n\\\"\"} ",
        8);
    Map<?, ?> m = (Map<?, ?>) v;
    assertEquals(List.of("b", "a"), List.copyOf(m.keySet()));
    assertEquals(List.of(new BigDecimal("1"), new BigDecimal("-2.5e3"), true, false,
        StrictJson.NULL), m.get("b"));
    assertEquals("x\u00e9\n\"", m.get("a"));
  }

  @Test
  void exactLongGuardsMagnitude() {
    assertEquals(3L, StrictJson.exactLong(new BigDecimal("3")));
    assertEquals(300L, StrictJson.exactLong(new BigDecimal("3e2")));
    assertEquals(3L, StrictJson.exactLong(new BigDecimal("3.0")));
    assertNull(StrictJson.exactLong(new BigDecimal("3.5")));
    assertNull(StrictJson.exactLong(new BigDecimal("1e999999999")));
    assertNull(StrictJson.exactLong(new BigDecimal("9223372036854775808")));
    assertEquals(Long.MIN_VALUE, StrictJson.exactLong(new BigDecimal("-9223372036854775808")));
    assertNull(StrictJson.exactLong("3"));
  }

  @ParameterizedTest
  @ValueSource(strings = {"", "{", "{\"a\":1,}", "[1,]", "{\"a\" 1}", "01", "1.", "-", "+1",
      "\"\\x\"", "\"a\u0001\"", "tru", "nul", "{\"a\":1,\"a\":2}", "[[[[[[[[[[1]]]]]]]]]]",
      "1e2147483648", "\"\\u12\"", "{1:2}", "[1 2]"})
  void rejects(String text) {
    assertThrows(StrictJson.SyntaxException.class, () -> StrictJson.parse(text, 8));
  }
}
