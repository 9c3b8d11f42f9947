package io.github.stablerep.models.diffusion;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.stablerep.core.Goldens;
import io.github.stablerep.core.io.StrictJson;
import io.github.stablerep.models.diffusion.ClipTokenizer.Cleanup;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Token ids against openai/CLIP's own simple_tokenizer.py (tools/reference/clip_tokenizer_reference.py):
 * 300 captions from CLIP's prompt templates and 99 hand-written hard cases (whitespace, HTML
 * references, accents, CJK, emoji, contractions, digits, text past 77 tokens, empty), with the
 * real 49408-token vocabulary and with a small Hugging Face-format vocabulary the script built.
 * Every id must match exactly.
 */
class ClipTokenizerGoldenTest {

  static Path dir;
  static List<String> texts;
  static List<?> full;
  static List<?> small;

  @BeforeAll
  static void load() throws IOException {
    dir = Goldens.dir("clip_tokenizer");
    texts = new ArrayList<>();
    for (Object n : json("texts.json")) {
      texts.add((String) ((Map<?, ?>) n).get("text"));
    }
    full = json("full.json");
    small = json("small.json");
    assertThat(texts).hasSize(399);
    assertThat(full.size()).isEqualTo(texts.size());
  }

  @Test
  void openAiCleanupMatchesSimpleTokenizer() {
    ClipTokenizer tok = ClipTokenizer.openAiDefault();
    assertThat(tok.vocabularySize()).isEqualTo(49408);
    assertThat(tok.startTokenId()).isEqualTo(49406);
    assertThat(tok.endTokenId()).isEqualTo(49407);
    assertAllMatch("openai encode", full, "openai", tok::encode);
  }

  @Test
  void transformersCleanupMatchesTheHuggingFacePath() {
    ClipTokenizer tok = ClipTokenizer.openAiDefault().withCleanup(Cleanup.TRANSFORMERS);
    assertAllMatch("transformers encode", full, "transformers", tok::encode);
  }

  @Test
  void rowsMatchClipTokenizeWithZeroPadding() {
    ClipTokenizer tok = ClipTokenizer.openAiDefault().withPadTokenId(0);
    assertAllMatch("clip.tokenize(truncate=True)", full, "clip_tokenize", tok::tokenize);
  }

  @Test
  void rowsMatchDiffusersPaddingWithTheEndToken() {
    ClipTokenizer tok = ClipTokenizer.openAiDefault().withCleanup(Cleanup.TRANSFORMERS);
    assertThat(tok.padTokenId()).isEqualTo(49407);
    assertAllMatch("diffusers rows", full, "diffusers", tok::tokenize);
  }

  @Test
  void decodeMatchesSimpleTokenizer() {
    ClipTokenizer tok = ClipTokenizer.openAiDefault();
    List<String> failures = new ArrayList<>();
    for (int i = 0; i < texts.size(); i++) {
      String expected = (String) field(full, i, "decode");
      String actual = tok.decode(ids(field(full, i, "openai")));
      if (!expected.equals(actual)) {
        failures.add(i + ": '" + expected + "' vs '" + actual + "'");
      }
    }
    assertThat(failures).isEmpty();
  }

  @Test
  void smallHuggingFaceVocabularyMatches() {
    ClipTokenizer tok = ClipTokenizer.fromHuggingFace(dir.resolve("small/vocab.json"), dir.resolve("small/merges.txt"));
    assertThat(tok.cleanup()).isEqualTo(Cleanup.TRANSFORMERS);
    assertThat(tok.vocabularySize()).isEqualTo(1877);
    assertAllMatch("small vocabulary encode", small, "transformers", tok::encode);
  }

  @Test
  void bundledFileLoadsFromAPathToo() throws IOException {
    Path copy = Files.createTempFile("bpe", ".txt.gz");
    try (var in = ClipTokenizer.class.getResourceAsStream("clip/bpe_simple_vocab_16e6.txt.gz")) {
      Files.write(copy, in.readAllBytes());
      ClipTokenizer tok = ClipTokenizer.fromOpenAiBpe(copy);
      assertThat(tok.encode(texts.get(0))).containsExactly(ids(field(full, 0, "openai")));
    } finally {
      Files.delete(copy);
    }
  }

  /** Mojibake is not repaired (ftfy would): the ids are those of the text as given. */
  @Test
  void mojibakeIsTokenizedAsGiven() {
    ClipTokenizer tok = ClipTokenizer.openAiDefault();
    int[] asGiven = tok.encode("cafÃ©");
    assertThat(asGiven).isNotEqualTo(tok.encode("café"));
    assertThat(tok.decode(asGiven)).isEqualTo("cafã © ");  // "©" is a symbol, not a letter
  }

  private static void assertAllMatch(String what, List<?> golden, String field, Function<String, int[]> f) {
    List<String> failures = new ArrayList<>();
    for (int i = 0; i < texts.size(); i++) {
      int[] expected = ids(field(golden, i, field));
      int[] actual = f.apply(texts.get(i));
      if (!Arrays.equals(expected, actual)) {
        failures.add(i + " '" + texts.get(i) + "': expected " + Arrays.toString(expected) + ", found " + Arrays.toString(actual));
      }
    }
    assertThat(failures).as(what).isEmpty();
  }

  static int[] ids(Object array) {
    List<?> a = (List<?>) array;
    int[] out = new int[a.size()];
    for (int i = 0; i < out.length; i++) {
      out[i] = Math.toIntExact(StrictJson.exactLong(a.get(i)));
    }
    return out;
  }

  static Object field(List<?> rows, int i, String name) {
    return ((Map<?, ?>) rows.get(i)).get(name);
  }

  private static List<?> json(String file) throws IOException {
    return (List<?>) StrictJson.parse(Files.readString(dir.resolve(file)), 8);
  }
}
