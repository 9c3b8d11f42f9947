package io.github.stablerep.core;
import org.junit.jupiter.api.Test;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.api.ops.impl.reduce.Mmul;
import org.nd4j.linalg.api.buffer.DataType;
class SmokeTest {
  @Test void mm() {
    INDArray a = Nd4j.rand(DataType.FLOAT, 1024, 1024);
    for (int r = 0; r < 3; r++) {
    long t0 = System.nanoTime();
    INDArray c = Nd4j.exec(new Mmul(a, a, null, null))[0];
    long t1 = System.nanoTime();
    INDArray d = a.mmul(a);
    long t2 = System.nanoTime();
    System.out.println("op " + (t1-t0)/1e6 + " ms; mmul " + (t2-t1)/1e6 + " ms; diff " + c.sub(d).amaxNumber());
    }
    System.out.println(Nd4j.getExecutioner().getEnvironmentInformation());
  }
}
