package io.github.stablerep.models.diffusion;

import static com.google.common.base.Preconditions.checkArgument;

import io.github.stablerep.core.io.StrictJson;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.zip.GZIPInputStream;
import java.util.zip.ZipException;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/**
 * CLIP's byte-level BPE tokenizer, as openai/CLIP's {@code simple_tokenizer.py} and Hugging
 * Face's {@code CLIPTokenizer} (the one diffusers' Stable Diffusion pipelines call). Immutable
 * and thread-safe.
 *
 * <p>Text goes through these steps, each as the reference does it:
 *
 * <ol>
 *   <li>cleanup ({@link Cleanup}): ftfy's {@code fix_text} is taken as the identity, which is
 *       what it does to well-formed text (ftfy is not in Debian, and its mojibake repairs are
 *       heuristics that are not reproduced: "cafÃ©" stays as it is rather than becoming "café");
 *       in {@link Cleanup#OPENAI} the text is then HTML-unescaped twice with Python's {@code
 *       html.unescape} rules and stripped; runs of Unicode whitespace become one space; the text
 *       is stripped (Python's {@code str.strip}, which also removes U+001C-U+001F) and
 *       lower-cased ({@code str.lower}, full Unicode case mapping);
 *   <li>pre-tokenisation with CLIP's pattern {@code <|startoftext|>|<|endoftext|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+}
 *       (case-insensitive; each digit is its own piece);
 *   <li>each piece's UTF-8 bytes mapped to printable characters ({@code bytes_to_unicode}), its
 *       last symbol marked with {@code </w>}, and BPE merges applied lowest rank first until
 *       none applies; results are cached per piece.
 * </ol>
 *
 * <p>{@link #tokenize(String)} gives the model's input: the start token, at most {@code
 * contextLength - 2} BPE tokens (longer texts are truncated, the end token is always kept),
 * the end token, and padding to {@code contextLength} (77). Stable Diffusion v1.5's tokenizer
 * pads with {@code <|endoftext|>} (49407), the default here; {@code clip.tokenize} pads with 0,
 * and SD 2's tokenizer with "!" (also id 0): see {@link #withPadTokenId}.
 *
 * <p>Known differences from the references: ftfy's repairs (above); Hugging Face splits the text
 * on its special tokens before lower-casing, so an upper-case {@code <|ENDOFTEXT|>} stays text
 * there but becomes the end token here and in openai's code; the Unicode version (Java 17 has
 * Unicode 13, so letters and digits assigned later count as symbols here).
 *
 * <pre>{@code
 * ClipTokenizer tokenizer = ClipTokenizer.fromDirectory(sdFolder.resolve("tokenizer"));
 * INDArray ids = tokenizer.tokenize(List.of("a photo of a cat", ""));   // [2, 77] INT
 * }</pre>
 */
public final class ClipTokenizer {

  /** CLIP's context length. */
  public static final int CONTEXT_LENGTH = 77;
  public static final String START_TOKEN = "<|startoftext|>";
  public static final String END_TOKEN = "<|endoftext|>";
  /**
   * How many merges CLIP uses: 49152 tokens less 256 bytes and 2 special tokens. Both references
   * read only the first this-many merge lines, so the 262k-line openai file gives the same
   * 49408-token vocabulary as Hugging Face's merges.txt.
   */
  public static final int MAX_MERGES = 49152 - 256 - 2;

  private static final String BUNDLED_BPE = "clip/bpe_simple_vocab_16e6.txt.gz";
  private static final String END_OF_WORD = "</w>";
  private static final int CACHE_LIMIT = 200_000;
  private static final Pattern PIECES = Pattern.compile(
      "<\\|startoftext\\|>|<\\|endoftext\\|>|'s|'t|'re|'ve|'m|'ll|'d|[\\p{L}]+|[\\p{N}]|[^\\s\\p{L}\\p{N}]+",
      Pattern.CASE_INSENSITIVE | Pattern.UNICODE_CASE | Pattern.UNICODE_CHARACTER_CLASS);
  private static final Pattern WHITESPACE = Pattern.compile("\\s+", Pattern.UNICODE_CHARACTER_CLASS);
  /** tokenizer_config.json nests a few levels (added_tokens_decoder); deeper text is hostile. */
  private static final int TOKENIZER_CONFIG_DEPTH = 16;

  /** Which reference's text cleanup to apply before BPE. */
  public enum Cleanup {
    /**
     * openai/CLIP's {@code simple_tokenizer}: fix_text (identity), {@code html.unescape} twice,
     * strip, whitespace collapse, lower-case. The default of {@link #openAiDefault()} and {@link
     * #fromOpenAiBpe}.
     */
    OPENAI,
    /**
     * Hugging Face's {@code CLIPTokenizer} with ftfy, as diffusers' pipelines use it: fix_text
     * (identity), whitespace collapse, lower-case; no HTML unescaping. The default of the Hugging
     * Face loaders.
     */
    TRANSFORMERS
  }

  private final Tables tables;
  private final Cleanup cleanup;
  private final int contextLength;
  private final int padTokenId;

  /** The vocabulary and merges, shared by the variants that {@code with*} makes. */
  private static final class Tables {
    final Map<String, Integer> encoder;
    final Map<Integer, String> decoder;
    final Map<String, Integer> ranks;
    final int startId;
    final int endId;
    /** The largest id and its token: what a text encoder's embedding table must cover. */
    final int maxId;
    final String maxIdToken;
    final String source;
    final Map<String, int[]> cache = new ConcurrentHashMap<>();

    Tables(Map<String, Integer> encoder, Map<String, Integer> ranks, String source) {
      this.encoder = Map.copyOf(encoder);
      this.ranks = Map.copyOf(ranks);
      Map<Integer, String> dec = new HashMap<>();
      for (Map.Entry<String, Integer> e : encoder.entrySet()) {
        String previous = dec.put(e.getValue(), e.getKey());
        checkArgument(previous == null, "%s: expected each id once, found id %s for both '%s' and '%s'",
            source, e.getValue(), previous, e.getKey());
      }
      this.decoder = Map.copyOf(dec);
      for (char c : VOCAB_BYTE_ORDER) {
        for (String symbol : new String[] {String.valueOf(c), c + END_OF_WORD}) {
          checkArgument(encoder.containsKey(symbol),
              "%s: expected every byte symbol in the vocabulary, found '%s' (U+%04X) missing", source, symbol, (int) c);
        }
      }
      checkArgument(encoder.containsKey(START_TOKEN), "%s: expected the token %s, found it missing", source, START_TOKEN);
      checkArgument(encoder.containsKey(END_TOKEN), "%s: expected the token %s, found it missing", source, END_TOKEN);
      this.startId = encoder.get(START_TOKEN);
      this.endId = encoder.get(END_TOKEN);
      Map.Entry<String, Integer> largest = Collections.max(encoder.entrySet(), Map.Entry.comparingByValue());
      this.maxId = largest.getValue();
      this.maxIdToken = largest.getKey();
      this.source = source;
    }
  }

  private ClipTokenizer(Tables tables, Cleanup cleanup, int contextLength, int padTokenId) {
    this.tables = tables;
    this.cleanup = cleanup;
    this.contextLength = contextLength;
    this.padTokenId = padTokenId;
  }

  // ---------------------------------------------------------------- loaders

  /**
   * openai's BPE file {@code bpe_simple_vocab_16e6.txt.gz}, bundled with this library (MIT
   * licence, see {@code clip/LICENSE} next to it): the same 49408-token vocabulary as Stable
   * Diffusion v1.x's {@code tokenizer/}. {@link Cleanup#OPENAI}, padding with the end token.
   */
  public static ClipTokenizer openAiDefault() {
    return Bundled.INSTANCE;
  }

  private static final class Bundled {
    static final ClipTokenizer INSTANCE = loadBundled();

    private static ClipTokenizer loadBundled() {
      try (InputStream in = ClipTokenizer.class.getResourceAsStream(BUNDLED_BPE)) {
        if (in == null) {
          throw new IllegalStateException("resource " + BUNDLED_BPE + " is missing from stablerep-models");
        }
        return fromOpenAiBpe(in.readAllBytes(), "resource " + BUNDLED_BPE);
      } catch (IOException e) {
        throw new UncheckedIOException("resource " + BUNDLED_BPE + ": cannot be read", e);
      }
    }
  }

  /**
   * An openai BPE file ({@code .txt.gz}, or plain text): a header line, then merges "a b". The
   * vocabulary is built as openai does: the 256 byte symbols, the same with {@code </w>}, one
   * token per merge (the first {@link #MAX_MERGES}), then the start and end tokens.
   * {@link Cleanup#OPENAI}, padding with the end token.
   */
  public static ClipTokenizer fromOpenAiBpe(Path bpeFile) {
    checkArgument(bpeFile != null, "bpeFile: expected a path to bpe_simple_vocab_16e6.txt.gz, found null");
    return fromOpenAiBpe(readBytes(bpeFile), bpeFile.toString());
  }

  private static ClipTokenizer fromOpenAiBpe(byte[] raw, String source) {
    byte[] bytes = raw;
    if (raw.length >= 2 && (raw[0] & 0xff) == 0x1f && (raw[1] & 0xff) == 0x8b) {
      try (GZIPInputStream in = new GZIPInputStream(new java.io.ByteArrayInputStream(raw))) {
        bytes = in.readAllBytes();
      } catch (ZipException | java.io.EOFException e) {
        throw new IllegalArgumentException(source + ": expected a gzip file, found a corrupt or truncated one ("
            + e.getMessage() + ")", e);
      } catch (IOException e) {
        throw new UncheckedIOException(source + ": cannot be read", e);
      }
    }
    List<String[]> merges = parseMerges(decodeUtf8(bytes, source), source);
    Map<String, Integer> encoder = new HashMap<>();
    List<String> vocab = new ArrayList<>();
    for (char c : VOCAB_BYTE_ORDER) {
      vocab.add(String.valueOf(c));
    }
    for (char c : VOCAB_BYTE_ORDER) {
      vocab.add(c + END_OF_WORD);
    }
    for (String[] m : merges) {
      vocab.add(m[0] + m[1]);
    }
    vocab.add(START_TOKEN);
    vocab.add(END_TOKEN);
    for (int i = 0; i < vocab.size(); i++) {
      encoder.put(vocab.get(i), i);  // a repeated string keeps its last id, as Python's dict(zip(...))
    }
    Tables t = new Tables(encoder, ranks(merges), source);
    return new ClipTokenizer(t, Cleanup.OPENAI, CONTEXT_LENGTH, t.endId);
  }

  /**
   * Hugging Face's files: {@code vocab.json} (token to id) and {@code merges.txt} ({@code
   * #version} header, then merges "a b" in rank order; the first {@link #MAX_MERGES} are used).
   * Every merge's result, every byte symbol and both special tokens must be in the vocabulary.
   * {@link Cleanup#TRANSFORMERS}, padding with the end token, context length 77.
   *
   * @throws IllegalArgumentException naming the file and line of anything malformed
   */
  public static ClipTokenizer fromHuggingFace(Path vocabJson, Path mergesTxt) {
    checkArgument(vocabJson != null, "vocabJson: expected a path to vocab.json, found null");
    checkArgument(mergesTxt != null, "mergesTxt: expected a path to merges.txt, found null");
    Map<String, Integer> encoder = parseVocab(vocabJson);
    String mergesSource = mergesTxt.toString();
    List<String[]> merges = parseMerges(decodeUtf8(readBytes(mergesTxt), mergesSource), mergesSource);
    for (int i = 0; i < merges.size(); i++) {
      String joined = merges.get(i)[0] + merges.get(i)[1];
      checkArgument(encoder.containsKey(joined),
          "%s line %s: the merge '%s %s' gives '%s', which %s lacks",
          mergesSource, i + 2, merges.get(i)[0], merges.get(i)[1], joined, vocabJson);
    }
    Tables t = new Tables(encoder, ranks(merges), vocabJson.toString());
    return new ClipTokenizer(t, Cleanup.TRANSFORMERS, CONTEXT_LENGTH, t.endId);
  }

  /**
   * A diffusers {@code tokenizer/} folder: {@code vocab.json}, {@code merges.txt} and, when
   * present, {@code tokenizer_config.json}, whose {@code pad_token} (a string or {@code
   * {"content": ...}}) and {@code model_max_length} are applied. Stable Diffusion v1.5's pads
   * with {@code <|endoftext|>}, SD 2's with "!".
   */
  public static ClipTokenizer fromDirectory(Path tokenizerDir) {
    checkArgument(tokenizerDir != null, "tokenizerDir: expected a tokenizer folder, found null");
    checkArgument(Files.isDirectory(tokenizerDir), "tokenizerDir: expected a folder, found %s", tokenizerDir);
    ClipTokenizer tok = fromHuggingFace(tokenizerDir.resolve("vocab.json"), tokenizerDir.resolve("merges.txt"));
    Path config = tokenizerDir.resolve("tokenizer_config.json");
    if (!Files.exists(config)) {
      return tok;
    }
    Object parsed = readJson(config, TOKENIZER_CONFIG_DEPTH);
    checkArgument(parsed instanceof Map, "%s: expected a JSON object, found %s", config, StrictJson.typeName(parsed));
    Map<?, ?> root = (Map<?, ?>) parsed;
    Object pad = root.get("pad_token");
    if (pad != null && pad != StrictJson.NULL) {
      Object content = pad instanceof Map ? ((Map<?, ?>) pad).get("content") : pad;
      checkArgument(content instanceof String,
          "%s: key 'pad_token': expected a string or {\"content\": string}, found %s", config, shown(pad));
      tok = tok.withPadToken((String) content);
    }
    Object max = root.get("model_max_length");
    // tokenizers without a limit store a huge sentinel (1e30); only a real length applies
    if (max instanceof Number && ((Number) max).doubleValue() >= 2 && ((Number) max).doubleValue() <= 1_000_000) {
      tok = tok.withContextLength(((Number) max).intValue());
    }
    return tok;
  }

  // ---------------------------------------------------------------- variants

  /** The same vocabulary with another cleanup. */
  public ClipTokenizer withCleanup(Cleanup cleanup) {
    checkArgument(cleanup != null, "cleanup: expected OPENAI or TRANSFORMERS, found null");
    return new ClipTokenizer(tables, cleanup, contextLength, padTokenId);
  }

  /** The same vocabulary padding rows to {@code contextLength} (at least 2: start and end). */
  public ClipTokenizer withContextLength(int contextLength) {
    checkArgument(contextLength >= 2, "contextLength: expected >= 2 (start and end token), found %s", contextLength);
    return new ClipTokenizer(tables, cleanup, contextLength, padTokenId);
  }

  /** Pads with this id; 0 reproduces {@code clip.tokenize}. It must be in the vocabulary. */
  public ClipTokenizer withPadTokenId(int padTokenId) {
    checkArgument(tables.decoder.containsKey(padTokenId),
        "padTokenId: expected an id in the vocabulary, found %s", padTokenId);
    return new ClipTokenizer(tables, cleanup, contextLength, padTokenId);
  }

  /** Pads with this token's id (e.g. "!" for SD 2). */
  public ClipTokenizer withPadToken(String token) {
    checkArgument(token != null && tables.encoder.containsKey(token),
        "padToken: expected a token of the vocabulary, found '%s'", token);
    return withPadTokenId(tables.encoder.get(token));
  }

  public Cleanup cleanup() {
    return cleanup;
  }

  public int contextLength() {
    return contextLength;
  }

  public int padTokenId() {
    return padTokenId;
  }

  public int startTokenId() {
    return tables.startId;
  }

  public int endTokenId() {
    return tables.endId;
  }

  /** The number of tokens in the vocabulary (49408 for CLIP). */
  public int vocabularySize() {
    return tables.encoder.size();
  }

  /**
   * The largest id in the vocabulary. Every id {@link #tokenize} can produce is at most this, so
   * a text encoder whose embedding table has more rows can never be indexed out of range (see
   * {@link ClipTextEncoder#checkTokenizer}). The vocabulary file may leave gaps in its ids, so
   * this can exceed {@link #vocabularySize()} - 1.
   */
  public int maxTokenId() {
    return tables.maxId;
  }

  /** The token with id {@link #maxTokenId()}, for messages. */
  public String maxIdToken() {
    return tables.maxIdToken;
  }

  /** Where the vocabulary was read from (a file name, or the bundled resource), for messages. */
  public String source() {
    return tables.source;
  }

  /** The id of a token string (e.g. "cat</w>"), if it is in the vocabulary. */
  public java.util.OptionalInt tokenId(String token) {
    Integer id = token == null ? null : tables.encoder.get(token);
    return id == null ? java.util.OptionalInt.empty() : java.util.OptionalInt.of(id);
  }

  // ---------------------------------------------------------------- encoding

  /**
   * The text after this tokenizer's cleanup (what the BPE sees), e.g. {@code "  A &amp; B "} to
   * {@code "a & b"} with {@link Cleanup#OPENAI}.
   */
  public String clean(String text) {
    checkText(text);
    String t = text;  // ftfy.fix_text: the identity on well-formed text (see the class comment)
    if (cleanup == Cleanup.OPENAI) {
      t = pythonStrip(HtmlUnescape.unescape(HtmlUnescape.unescape(t)));
    }
    t = pythonStrip(WHITESPACE.matcher(t).replaceAll(" "));
    return t.toLowerCase(Locale.ROOT);
  }

  /** The BPE token ids of {@code text}, without start and end tokens and without truncation. */
  public int[] encode(String text) {
    String cleaned = clean(text);
    int[] out = new int[16];
    int n = 0;
    Matcher m = PIECES.matcher(cleaned);
    while (m.find()) {
      for (int id : bpeIds(m.group())) {
        if (n == out.length) {
          out = Arrays.copyOf(out, 2 * n);
        }
        out[n++] = id;
      }
    }
    return Arrays.copyOf(out, n);
  }

  /** The BPE token strings of {@code text} (e.g. "cat</w>"), in order. */
  public List<String> tokens(String text) {
    List<String> out = new ArrayList<>();
    for (int id : encode(text)) {
      out.add(tables.decoder.get(id));
    }
    return out;
  }

  /**
   * One model input row of {@link #contextLength()} ids: start, the first {@code contextLength -
   * 2} BPE ids, end, then the pad id. Equal to {@code clip.tokenize(text, truncate=True)} with
   * pad id 0, and to diffusers' {@code tokenizer(text, padding="max_length", truncation=True)}.
   */
  public int[] tokenize(String text) {
    int[] ids = encode(text);
    int kept = Math.min(ids.length, contextLength - 2);
    int[] row = new int[contextLength];
    Arrays.fill(row, padTokenId);
    row[0] = tables.startId;
    System.arraycopy(ids, 0, row, 1, kept);
    row[kept + 1] = tables.endId;
    return row;
  }

  /** {@link #tokenize(String)} for each text, as an INT array [texts, contextLength]. */
  public INDArray tokenize(List<String> texts) {
    checkArgument(texts != null && !texts.isEmpty(), "texts: expected at least one text, found %s",
        texts == null ? "null" : "an empty list");
    int[][] rows = new int[texts.size()][];
    for (int i = 0; i < rows.length; i++) {
      rows[i] = tokenize(texts.get(i));
    }
    return Nd4j.createFromArray(rows);
  }

  /**
   * Token ids back to text as openai's {@code decode}: the tokens' bytes as UTF-8 (invalid
   * sequences become U+FFFD), each {@code </w>} replaced by a space. Special tokens decode to
   * their names.
   */
  public String decode(int[] ids) {
    checkArgument(ids != null, "ids: expected token ids, found null");
    StringBuilder symbols = new StringBuilder();
    for (int id : ids) {
      String token = tables.decoder.get(id);
      checkArgument(token != null, "ids: expected ids in the vocabulary, found %s", id);
      symbols.append(token);
    }
    ByteArrayOutputStream bytes = new ByteArrayOutputStream(symbols.length());
    for (int i = 0; i < symbols.length(); i++) {
      bytes.write(CHAR_TO_BYTE[symbols.charAt(i)]);
    }
    return new String(bytes.toByteArray(), StandardCharsets.UTF_8).replace(END_OF_WORD, " ");
  }

  private int[] bpeIds(String piece) {
    int[] cached = tables.cache.get(piece);
    if (cached != null) {
      return cached;
    }
    int[] ids;
    if (piece.equals(START_TOKEN) || piece.equals(END_TOKEN)) {
      ids = new int[] {tables.encoder.get(piece)};
    } else {
      byte[] utf8 = piece.getBytes(StandardCharsets.UTF_8);
      List<String> word = new ArrayList<>(utf8.length);
      for (int i = 0; i < utf8.length; i++) {
        String symbol = String.valueOf(BYTE_TO_CHAR[utf8[i] & 0xff]);
        word.add(i == utf8.length - 1 ? symbol + END_OF_WORD : symbol);
      }
      List<String> merged = bpe(word);
      ids = new int[merged.size()];
      for (int i = 0; i < ids.length; i++) {
        // present by construction: the loaders check byte symbols and every merge's result
        ids[i] = tables.encoder.get(merged.get(i));
      }
    }
    if (tables.cache.size() >= CACHE_LIMIT) {
      tables.cache.clear();  // a crude bound: captions repeat few pieces, so this is rare
    }
    tables.cache.put(piece, ids);
    return ids;
  }

  /** Merges the lowest-ranked adjacent pair, all its non-overlapping occurrences left to right, until none has a rank. */
  private List<String> bpe(List<String> word) {
    while (word.size() > 1) {
      int best = Integer.MAX_VALUE;
      String first = null;
      String second = null;
      for (int i = 0; i + 1 < word.size(); i++) {
        Integer r = tables.ranks.get(word.get(i) + ' ' + word.get(i + 1));
        if (r != null && r < best) {
          best = r;
          first = word.get(i);
          second = word.get(i + 1);
        }
      }
      if (first == null) {
        break;
      }
      List<String> next = new ArrayList<>(word.size());
      int i = 0;
      while (i < word.size()) {
        if (i + 1 < word.size() && word.get(i).equals(first) && word.get(i + 1).equals(second)) {
          next.add(first + second);
          i += 2;
        } else {
          next.add(word.get(i));
          i += 1;
        }
      }
      word = next;
    }
    return word;
  }

  // ---------------------------------------------------------------- file parsing

  private static Map<String, Integer> parseVocab(Path vocabJson) {
    Object root = readJson(vocabJson, 1);
    checkArgument(root instanceof Map, "%s: expected a JSON object of token -> id, found %s", vocabJson,
        StrictJson.typeName(root));
    Map<String, Integer> encoder = new HashMap<>();
    for (Map.Entry<?, ?> e : ((Map<?, ?>) root).entrySet()) {
      Long v = StrictJson.exactLong(e.getValue());
      checkArgument(v != null && v >= 0 && v <= Integer.MAX_VALUE,
          "%s: token '%s': expected an id >= 0, found %s", vocabJson, e.getKey(), shown(e.getValue()));
      encoder.put((String) e.getKey(), v.intValue());
    }
    checkArgument(!encoder.isEmpty(), "%s: expected a vocabulary, found an empty object", vocabJson);
    return encoder;
  }

  /**
   * Lines 2 .. MAX_MERGES + 1 of a merges file, after stripping the whole text as Hugging Face's
   * {@code read().strip()}; line numbers in messages are 1-based in the stripped text.
   */
  private static List<String[]> parseMerges(String text, String source) {
    String[] lines = pythonStrip(text).split("\n", -1);
    checkArgument(lines[0].contains("#version"),
        "%s line 1: expected a '#version' header line, found %s", source,
        lines[0].isEmpty() ? "an empty file" : "'" + abbreviate(lines[0]) + "'");
    int count = Math.min(lines.length - 1, MAX_MERGES);
    checkArgument(count > 0, "%s: expected merges after the header, found none", source);
    List<String[]> merges = new ArrayList<>(count);
    for (int i = 1; i <= count; i++) {
      String[] parts = lines[i].strip().split("\\s+");
      checkArgument(parts.length == 2 && !parts[0].isEmpty(),
          "%s line %s: expected a merge of two symbols separated by a space, found '%s'",
          source, i + 1, abbreviate(lines[i]));
      merges.add(parts);
    }
    return merges;
  }

  private static Map<String, Integer> ranks(List<String[]> merges) {
    Map<String, Integer> ranks = new HashMap<>();
    for (int i = 0; i < merges.size(); i++) {
      ranks.put(merges.get(i)[0] + ' ' + merges.get(i)[1], i);  // a repeated merge keeps its last rank, as dict(zip(...))
    }
    return ranks;
  }

  /** Python's json (which wrote these files) may emit NaN / Infinity; they parse, as there. */
  private static Object readJson(Path file, int maxDepth) {
    String text = decodeUtf8(readBytes(file), file.toString());
    try {
      return StrictJson.parsePythonJson(text, maxDepth);
    } catch (StrictJson.SyntaxException e) {
      throw new IllegalArgumentException(file + ": expected JSON, found malformed JSON (" + e.getMessage() + ")", e);
    }
  }

  private static String shown(Object v) {
    try {
      return abbreviate(StrictJson.write(v));
    } catch (IllegalArgumentException e) {
      return String.valueOf(v);  // NaN or an infinity
    }
  }

  private static byte[] readBytes(Path file) {
    try {
      return Files.readAllBytes(file);
    } catch (NoSuchFileException e) {
      throw new IllegalArgumentException(file + ": expected a file, found none", e);
    } catch (IOException e) {
      throw new UncheckedIOException(file + ": cannot be read", e);
    }
  }

  private static String decodeUtf8(byte[] bytes, String source) {
    try {
      return StandardCharsets.UTF_8.newDecoder()
          .onMalformedInput(CodingErrorAction.REPORT)
          .onUnmappableCharacter(CodingErrorAction.REPORT)
          .decode(java.nio.ByteBuffer.wrap(bytes)).toString();
    } catch (CharacterCodingException e) {
      throw new IllegalArgumentException(source + ": expected UTF-8 text, found invalid bytes", e);
    }
  }

  private static String abbreviate(String s) {
    return s.length() <= 60 ? s : s.substring(0, 57) + "...";
  }

  // ---------------------------------------------------------------- text helpers

  private static void checkText(String text) {
    checkArgument(text != null, "text: expected a string, found null");
    for (int i = 0; i < text.length(); i++) {
      char c = text.charAt(i);
      if (Character.isHighSurrogate(c) && i + 1 < text.length() && Character.isLowSurrogate(text.charAt(i + 1))) {
        i++;
      } else if (Character.isSurrogate(c)) {
        throw new IllegalArgumentException(String.format(
            "text: expected well-formed UTF-16, found an unpaired surrogate U+%04X at index %d", (int) c, i));
      }
    }
  }

  /** Python's str.strip(): str.isspace() is Unicode White_Space plus U+001C-U+001F. */
  static String pythonStrip(String s) {
    int start = 0;
    int end = s.length();
    while (start < end && isPythonSpace(s.charAt(start))) {
      start++;
    }
    while (end > start && isPythonSpace(s.charAt(end - 1))) {
      end--;
    }
    return s.substring(start, end);
  }

  private static boolean isPythonSpace(char c) {
    return (c >= 0x1c && c <= 0x1f) || WHITE_SPACE.matcher(String.valueOf(c)).matches();
  }

  private static final Pattern WHITE_SPACE = Pattern.compile("\\p{IsWhite_Space}");

  /** openai's bytes_to_unicode: printable Latin-1 bytes map to themselves, the rest to U+0100 on. */
  private static final char[] BYTE_TO_CHAR = new char[256];
  /** The byte symbols in openai's vocabulary order: the printable bytes first, then the rest. */
  private static final char[] VOCAB_BYTE_ORDER = new char[256];
  private static final int[] CHAR_TO_BYTE = new int[0x200];

  static {
    boolean[] printable = new boolean[256];
    for (int b = 0; b < 256; b++) {
      printable[b] = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
    }
    int n = 0;
    int k = 0;
    for (int b = 0; b < 256; b++) {
      if (printable[b]) {
        BYTE_TO_CHAR[b] = (char) b;
        VOCAB_BYTE_ORDER[k++] = (char) b;
      }
    }
    for (int b = 0; b < 256; b++) {
      if (!printable[b]) {
        BYTE_TO_CHAR[b] = (char) (256 + n++);
        VOCAB_BYTE_ORDER[k++] = BYTE_TO_CHAR[b];
      }
    }
    Arrays.fill(CHAR_TO_BYTE, -1);
    for (int b = 0; b < 256; b++) {
      CHAR_TO_BYTE[BYTE_TO_CHAR[b]] = b;
    }
  }

  @Override
  public String toString() {
    return "ClipTokenizer{vocabulary=" + vocabularySize() + ", merges=" + tables.ranks.size() + ", cleanup=" + cleanup
        + ", contextLength=" + contextLength + ", padTokenId=" + padTokenId + "}";
  }
}
