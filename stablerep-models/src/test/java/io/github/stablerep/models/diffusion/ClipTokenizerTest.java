package io.github.stablerep.models.diffusion;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.github.stablerep.core.Goldens;
import io.github.stablerep.models.diffusion.ClipTokenizer.Cleanup;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.regex.Pattern;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;

/** Options, malformed files and invariants of {@link ClipTokenizer}. */
class ClipTokenizerTest {

  static final ClipTokenizer TOK = ClipTokenizer.openAiDefault();

  @TempDir Path tmp;

  @Test
  void rowsHaveStartEndAndPadding() {
    int[] row = TOK.tokenize("a photo of a cat");
    assertThat(row).hasSize(77);
    assertThat(row[0]).isEqualTo(49406);
    int[] ids = TOK.encode("a photo of a cat");
    assertThat(Arrays.copyOfRange(row, 1, 1 + ids.length)).containsExactly(ids);
    assertThat(row[1 + ids.length]).isEqualTo(49407);
    assertThat(Arrays.stream(row, 2 + ids.length, 77).allMatch(i -> i == 49407)).isTrue();

    int[] empty = TOK.tokenize("");
    assertThat(empty[0]).isEqualTo(49406);
    assertThat(Arrays.stream(empty, 1, 77).allMatch(i -> i == 49407)).isTrue();
  }

  @Test
  void batchIsAnIntMatrix() {
    INDArray ids = TOK.tokenize(List.of("a dog", "", "a photo of a cat"));
    assertThat(ids.shape()).containsExactly(3, 77);
    assertThat(ids.dataType()).isEqualTo(DataType.INT);
    assertThat(ids.getRow(2).toIntVector()).containsExactly(TOK.tokenize("a photo of a cat"));
  }

  @Test
  void optionsChangeOnlyWhatTheyName() {
    ClipTokenizer short16 = TOK.withContextLength(16).withPadToken("!");
    assertThat(short16.padTokenId()).isZero();
    int[] row = short16.tokenize("one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen");
    assertThat(row).hasSize(16);
    assertThat(row[15]).isEqualTo(49407);
    assertThat(Arrays.copyOfRange(row, 1, 15)).containsExactly(Arrays.copyOf(TOK.encode("one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen"), 14));
    assertThat(TOK.padTokenId()).isEqualTo(49407);
    assertThat(TOK.clean(" A &amp;amp; B\t")).isEqualTo("a & b");
    assertThat(TOK.withCleanup(Cleanup.TRANSFORMERS).clean(" A &amp;amp; B\t")).isEqualTo("a &amp;amp; b");
    assertThat(TOK.tokenId("cat</w>")).isPresent();
    assertThatThrownBy(() -> TOK.withPadTokenId(49408)).hasMessageContaining("padTokenId");
    assertThatThrownBy(() -> TOK.withPadToken("nope")).hasMessageContaining("padToken").hasMessageContaining("nope");
    assertThatThrownBy(() -> TOK.withContextLength(1)).hasMessageContaining("contextLength");
  }

  @Test
  void badTextIsRejected() {
    assertThatThrownBy(() -> TOK.encode(null)).hasMessageContaining("text");
    assertThatThrownBy(() -> TOK.encode("a\uD800b")).hasMessageContaining("unpaired surrogate U+D800 at index 1");
    assertThatThrownBy(() -> TOK.decode(new int[] {5, 49408})).hasMessageContaining("49408");
  }

  @Test
  void directoryReadsTheTokenizerConfig() throws IOException {
    Path small = Goldens.dir("clip_tokenizer").resolve("small");
    Files.copy(small.resolve("vocab.json"), tmp.resolve("vocab.json"));
    Files.copy(small.resolve("merges.txt"), tmp.resolve("merges.txt"));
    ClipTokenizer plain = ClipTokenizer.fromDirectory(tmp);
    assertThat(plain.padTokenId()).isEqualTo(plain.endTokenId());
    Files.writeString(tmp.resolve("tokenizer_config.json"),
        "{\"pad_token\": {\"content\": \"!\", \"lstrip\": false}, \"model_max_length\": 40}");
    ClipTokenizer sd2 = ClipTokenizer.fromDirectory(tmp);
    assertThat(sd2.padTokenId()).isEqualTo(sd2.tokenId("!").getAsInt());
    assertThat(sd2.contextLength()).isEqualTo(40);
    Files.writeString(tmp.resolve("tokenizer_config.json"), "{\"pad_token\": \"<|endoftext|>\", \"model_max_length\": 1e30}");
    assertThat(ClipTokenizer.fromDirectory(tmp).contextLength()).isEqualTo(77);
    Files.writeString(tmp.resolve("tokenizer_config.json"), "{\"pad_token\": 3}");
    assertThatThrownBy(() -> ClipTokenizer.fromDirectory(tmp)).hasMessageContaining("tokenizer_config.json")
        .hasMessageContaining("pad_token");
  }

  @Test
  void malformedVocabularyNamesFileAndProblem() throws IOException {
    Path small = Goldens.dir("clip_tokenizer").resolve("small");
    Path merges = small.resolve("merges.txt");
    String vocab = Files.readString(small.resolve("vocab.json"));
    Path bad = tmp.resolve("vocab.json");

    Files.writeString(bad, vocab.substring(0, vocab.length() / 2));
    assertThatThrownBy(() -> ClipTokenizer.fromHuggingFace(bad, merges))
        .hasMessageContaining(bad.toString()).hasMessageContaining("malformed JSON");
    Files.writeString(bad, "[1, 2]");
    assertThatThrownBy(() -> ClipTokenizer.fromHuggingFace(bad, merges)).hasMessageContaining("JSON object");
    Files.writeString(bad, vocab.replaceFirst("\"<\\|endoftext\\|>\": \\d+", "\"<|endoftext|>\": \"x\""));
    assertThatThrownBy(() -> ClipTokenizer.fromHuggingFace(bad, merges))
        .hasMessageContaining("token '<|endoftext|>'").hasMessageContaining("id >= 0");
    Files.writeString(bad, vocab.replaceFirst("\"<\\|startoftext\\|>\": \\d+, ", "").replaceFirst(", \"<\\|startoftext\\|>\": \\d+", ""));
    assertThatThrownBy(() -> ClipTokenizer.fromHuggingFace(bad, merges))
        .hasMessageContaining(bad.toString()).hasMessageContaining("<|startoftext|>");
    assertThatThrownBy(() -> ClipTokenizer.fromHuggingFace(tmp.resolve("missing.json"), merges))
        .hasMessageContaining("missing.json").hasMessageContaining("expected a file");
  }

  @Test
  void repeatedIdsAreRejected() throws IOException {
    Path small = Goldens.dir("clip_tokenizer").resolve("small");
    String vocab = Files.readString(small.resolve("vocab.json"));
    String startId = vocab.replaceAll("(?s).*\"<\\|startoftext\\|>\": (\\d+).*", "$1");
    Path bad = tmp.resolve("vocab.json");
    Files.writeString(bad, vocab.replaceFirst("\"<\\|endoftext\\|>\": \\d+", "\"<|endoftext|>\": " + startId));
    assertThatThrownBy(() -> ClipTokenizer.fromHuggingFace(bad, small.resolve("merges.txt")))
        .hasMessageContaining("id " + startId).hasMessageContaining("expected each id once");
  }

  @Test
  void malformedMergesNameFileAndLine() throws IOException {
    Path small = Goldens.dir("clip_tokenizer").resolve("small");
    Path vocab = small.resolve("vocab.json");
    List<String> lines = Files.readAllLines(small.resolve("merges.txt"));
    Path bad = tmp.resolve("merges.txt");

    Files.write(bad, lines.subList(1, lines.size()));
    assertThatThrownBy(() -> ClipTokenizer.fromHuggingFace(vocab, bad))
        .hasMessageContaining(bad + " line 1").hasMessageContaining("#version");
    List<String> threeSymbols = new java.util.ArrayList<>(lines);
    threeSymbols.set(9, "a b c");
    Files.write(bad, threeSymbols);
    assertThatThrownBy(() -> ClipTokenizer.fromHuggingFace(vocab, bad))
        .hasMessageContaining(bad + " line 10").hasMessageContaining("two symbols").hasMessageContaining("'a b c'");
    List<String> blank = new java.util.ArrayList<>(lines);
    blank.set(5, "");
    Files.write(bad, blank);
    assertThatThrownBy(() -> ClipTokenizer.fromHuggingFace(vocab, bad)).hasMessageContaining(bad + " line 6");
    List<String> unknown = new java.util.ArrayList<>(lines);
    unknown.set(3, "q z");
    Files.write(bad, unknown);
    assertThatThrownBy(() -> ClipTokenizer.fromHuggingFace(vocab, bad))
        .hasMessageContaining(bad + " line 4").hasMessageContaining("'qz'").hasMessageContaining("vocab.json lacks");
    Files.write(bad, List.of("#version: 0.2"));
    assertThatThrownBy(() -> ClipTokenizer.fromHuggingFace(vocab, bad)).hasMessageContaining("found none");
    Files.write(bad, new byte[] {'#', 'v', 'e', 'r', 's', 'i', 'o', 'n', '\n', (byte) 0xC3, 0x28, ' ', 'a', '\n'});
    assertThatThrownBy(() -> ClipTokenizer.fromHuggingFace(vocab, bad)).hasMessageContaining("UTF-8");
    // trailing blank lines are ignored, as read().strip() does
    List<String> trailing = new java.util.ArrayList<>(lines);
    trailing.add("");
    trailing.add("  ");
    Files.write(bad, trailing);
    assertThat(ClipTokenizer.fromHuggingFace(vocab, bad).encode("a photo")).containsExactly(
        ClipTokenizer.fromHuggingFace(vocab, small.resolve("merges.txt")).encode("a photo"));
  }

  @Test
  void corruptGzipIsReported() throws IOException {
    byte[] gz;
    try (var in = ClipTokenizer.class.getResourceAsStream("clip/bpe_simple_vocab_16e6.txt.gz")) {
      gz = in.readAllBytes();
    }
    Path bad = tmp.resolve("bpe.txt.gz");
    Files.write(bad, Arrays.copyOf(gz, 1000));
    assertThatThrownBy(() -> ClipTokenizer.fromOpenAiBpe(bad))
        .hasMessageContaining(bad.toString()).hasMessageContaining("gzip");
    Path plain = tmp.resolve("bpe.txt");
    Files.writeString(plain, "header without version\nh e\n", StandardCharsets.UTF_8);
    assertThatThrownBy(() -> ClipTokenizer.fromOpenAiBpe(plain)).hasMessageContaining(plain + " line 1");
  }

  /** Words of letters decode to themselves, lower-cased, each followed by one space. */
  @Property(tries = 200)
  void lettersRoundTrip(@ForAll @IntRange(min = 0, max = Integer.MAX_VALUE) int seed) {
    Random rng = new Random(seed);
    String alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZéüßøçñ";
    StringBuilder text = new StringBuilder();
    StringBuilder want = new StringBuilder();
    int words = rng.nextInt(6);
    for (int w = 0; w < words; w++) {
      StringBuilder word = new StringBuilder();
      int len = 1 + rng.nextInt(12);
      for (int i = 0; i < len; i++) {
        word.append(alphabet.charAt(rng.nextInt(alphabet.length())));
      }
      text.append(" \t\n".charAt(rng.nextInt(3))).append(word);
      want.append(word.toString().toLowerCase(java.util.Locale.ROOT)).append(' ');
    }
    assertThat(TOK.decode(TOK.encode(text.toString()))).isEqualTo(want.toString());
  }

  /**
   * Any text: ids are in the vocabulary, the tokens' bytes are the cleaned text without its
   * spaces (nothing but whitespace is dropped), and rows keep the start and end tokens.
   */
  @Property(tries = 200)
  void anyTextKeepsEveryNonSpaceCharacter(@ForAll @IntRange(min = 0, max = Integer.MAX_VALUE) int seed) {
    Random rng = new Random(seed);
    StringBuilder text = new StringBuilder();
    int n = rng.nextInt(60);
    int[] planes = {0x7f, 0x3000, 0xffff, 0x2ffff};
    while (text.codePointCount(0, text.length()) < n) {
      int cp = rng.nextInt(planes[rng.nextInt(planes.length)] + 1);
      if (Character.isDefined(cp) && !(cp >= 0xD800 && cp <= 0xDFFF) && cp != '&' && cp != '<') {
        text.appendCodePoint(cp);
      }
    }
    String s = text.toString();
    int[] ids = TOK.encode(s);
    assertThat(Arrays.stream(ids).allMatch(i -> i >= 0 && i < TOK.vocabularySize())).isTrue();
    Pattern space = Pattern.compile("\\s", Pattern.UNICODE_CHARACTER_CLASS);
    String expected = space.matcher(TOK.clean(s)).replaceAll("");
    assertThat(TOK.decode(ids).replace(" ", "")).isEqualTo(expected.replace(" ", ""));
    int[] row = TOK.tokenize(s);
    assertThat(row[0]).isEqualTo(49406);
    assertThat(row[Math.min(ids.length, 75) + 1]).isEqualTo(49407);
  }
}
