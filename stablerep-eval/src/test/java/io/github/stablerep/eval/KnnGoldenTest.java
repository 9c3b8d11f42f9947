package io.github.stablerep.eval;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.ndarray.INDArray;

/** Weighted kNN against the NumPy reference of tools/reference/probe_reference.py: identical predictions. */
class KnnGoldenTest {

  @Test
  void predictionsEqualNumpyReference() {
    INDArray trainX = ProbeGoldens.npy("train_x");
    int[] trainY = ProbeGoldens.labels("train_y");
    INDArray testX = ProbeGoldens.npy("test_x");
    int[] expected = ProbeGoldens.labels("knn_pred");
    // a batch size that does not divide the 899 test rows, so the last partial batch is covered
    int[] predicted = KnnClassifier.builder().batchSize(100).build().fit(trainX, trainY).predict(testX);
    assertThat(predicted).containsExactly(expected);
    ProbeResult r = KnnClassifier.builder().build().fit(trainX, trainY)
        .evaluate(testX, ProbeGoldens.labels("test_y"));
    System.out.printf("kNN k=20 T=0.07: test accuracy %.4f%n", r.top1());
  }
}
