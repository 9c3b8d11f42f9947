package io.github.stablerep.models.diffusion;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.factory.Nd4j;

/**
 * Token ids reach the text encoder's embedding through a native gather that does not check its
 * indices: an id at or above vocab_size read outside the table and crashed the JVM (issue 13).
 * These tests pin that every way in is checked before the gather runs.
 */
class TokenIdRangeTest {

  @TempDir Path tmp;

  @Test
  void pipelineRefusesAVocabularyWithIdsBeyondTheEmbeddingTable() throws Exception {
    Path folder = TinyPipelineFolder.write(tmp.resolve("tiny"), 11);
    Path vocab = folder.resolve("tokenizer/vocab.json");
    // "!" is an ordinary byte symbol of the small vocabulary; id 10^9 stays unique, so only the
    // range check can catch it
    Files.writeString(vocab, Files.readString(vocab).replace("\"!\": 1287,", "\"!\": 1000000000,"));
    assertThatThrownBy(() -> StableDiffusionPipeline.builder().modelDirectory(folder).steps(1)
            .height(TinyPipelineFolder.SIZE).width(TinyPipelineFolder.SIZE).build())
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining(vocab.toString())
        .hasMessageContaining("vocab_size 1877")
        .hasMessageContaining("id 1000000000 for token '!'");
  }

  @Test
  void tokenizerAndEncoderMustAgree() {
    ClipTokenizer openAi = ClipTokenizer.openAiDefault();
    assertThat(openAi.maxTokenId()).isEqualTo(49407);
    assertThat(openAi.maxIdToken()).isEqualTo(ClipTokenizer.END_TOKEN);
    ClipTextEncoder full = ClipTextEncoder.builder().build();
    full.checkTokenizer(openAi);
    ClipTextEncoder small = full.toBuilder().vocabSize(1000).build();
    assertThatThrownBy(() -> small.checkTokenizer(openAi))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("vocab_size 1000")
        .hasMessageContaining("found id 49407 for token '<|endoftext|>'");
    ClipTextEncoder shortContext = full.toBuilder().maxPositions(16).build();
    assertThatThrownBy(() -> shortContext.checkTokenizer(openAi))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("16 positions, found 77");
  }

  @Test
  void idsFromElsewhereAreCheckedBeforeTheGather() {
    ClipTextEncoder enc = ClipTextEncoder.builder().vocabSize(100).maxPositions(4).build();
    assertThat(enc.checkTokenIds(Nd4j.createFromArray(new int[][] {{0, 99, 5, 1}}))).isNotNull();
    assertThatThrownBy(() -> enc.checkTokenIds(Nd4j.createFromArray(new int[][] {{0, 1, 2, 3}, {4, 5, 100, 6}})))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("found 100 at row 1, position 2");
    assertThatThrownBy(() -> enc.checkTokenIds(Nd4j.createFromArray(new long[][] {{-1, 0}})))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("found -1 at row 0, position 0");
    assertThatThrownBy(() -> enc.checkTokenIds(Nd4j.createFromArray(new float[][] {{0f}})))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("integer array");
    assertThatThrownBy(() -> enc.checkTokenIds(Nd4j.zeros(org.nd4j.linalg.api.buffer.DataType.INT, 1, 5)))
        .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("L <= 4");
  }
}
