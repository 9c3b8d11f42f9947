package io.github.stablerep.models.diffusion;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIfSystemProperty;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * SD v1.5's text encoder at full size (random weights) on the bundled tokenizer's output.
 * Opt-in, since it allocates 0.5 GB of weights: {@code -Dslow=true}.
 */
@EnabledIfSystemProperty(named = "slow", matches = "true")
class ClipTextEncoderFullSizeTest {

  @Test
  void fullSizeEncoderRunsOnTokenizerOutput() {
    ClipTokenizer tok = ClipTokenizer.openAiDefault().withCleanup(ClipTokenizer.Cleanup.TRANSFORMERS);
    INDArray ids = tok.tokenize(List.of("a photo of a cat", ""));
    ClipTextEncoder enc = ClipTextEncoder.builder().build();
    SameDiff sd = SameDiff.create();
    long t0 = System.nanoTime();
    ClipTextEncoderGraph g = enc.define(sd, sd.placeHolder("input_ids", DataType.INT, -1, 77));
    long t1 = System.nanoTime();
    Map<String, INDArray> out = sd.output(Map.of("input_ids", ids), g.lastHiddenState().name(), g.pooled().name());
    long t2 = System.nanoTime();
    out = sd.output(Map.of("input_ids", ids), g.lastHiddenState().name(), g.pooled().name());
    long t3 = System.nanoTime();
    System.out.printf("SD v1.5 text encoder (%d parameters): define %.1f s, first forward (batch 2) %.2f s, second %.2f s%n",
        enc.parameterCount(), (t1 - t0) / 1e9, (t2 - t1) / 1e9, (t3 - t2) / 1e9);
    INDArray last = out.get(g.lastHiddenState().name());
    INDArray pooled = out.get(g.pooled().name());
    assertThat(last.shape()).containsExactly(2, 77, 768);
    assertThat(pooled.shape()).containsExactly(2, 768);
    assertThat(last.isNaN().any() || last.isInfinite().any()).isFalse();
    int end = tok.encode("a photo of a cat").length + 1;
    assertThat(pooled.getRow(0)).isEqualTo(last.get(NDArrayIndex.point(0), NDArrayIndex.point(end), NDArrayIndex.all()));
    assertThat(pooled.getRow(1)).isEqualTo(last.get(NDArrayIndex.point(1), NDArrayIndex.point(1), NDArrayIndex.all()));
  }
}
