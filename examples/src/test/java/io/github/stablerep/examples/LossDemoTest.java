package io.github.stablerep.examples;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class LossDemoTest {

  @Test
  void badArgumentsGetOneClearMessage() {
    assertThatThrownBy(() -> LossDemo.parse(new String[] {"--steps", "many"}))
        .hasMessage("option --steps expects a number, found 'many'");
    assertThatThrownBy(() -> LossDemo.parse(new String[] {"--bogus", "1"}))
        .hasMessageContaining("unknown option --bogus");
    assertThatThrownBy(() -> LossDemo.parse(new String[] {"--steps", "0"}))
        .hasMessageContaining("--steps: expected >= 1, found 0");
    assertThat(LossDemo.parse(new String[] {"", "--seed", "3"}).seed()).isEqualTo(3);
    LossDemo.Options joined = LossDemo.parse(new String[] {" --seed 7  --steps 12 "});
    assertThat(joined.seed()).isEqualTo(7);
    assertThat(joined.steps()).isEqualTo(12);
  }

  /** A short run trains, prints the table and writes a readable PNG. */
  @Test
  void shortRunWritesTableAndLossCurve(@TempDir Path dir) throws Exception {
    LossDemo.Options o = LossDemo.parse(new String[] {"--steps", "40", "--out", dir.toString()});
    ByteArrayOutputStream captured = new ByteArrayOutputStream();
    PrintStream stdout = System.out;
    System.setOut(new PrintStream(captured, true, "UTF-8"));
    try {
      LossDemo.run(o);
    } finally {
      System.setOut(stdout);
    }
    String text = captured.toString("UTF-8");
    assertThat(text).contains("multi-positive StableRep loss (m = 4)").contains("Stand-in data");
    Path png = dir.resolve("loss-curves.png");
    assertThat(Files.exists(png)).isTrue();
    BufferedImage img = ImageIO.read(png.toFile());
    assertThat(img.getWidth()).isEqualTo(800);
    try (var listing = Files.list(dir)) {
      assertThat(listing.filter(p -> p.getFileName().toString().endsWith(".tmp"))).isEmpty();
    }
  }

  /** Trained encoders retrieve held-out captions far better than a random one. */
  @Test
  void trainingBeatsRandomInit() {
    LossDemo.Options o = LossDemo.parse(new String[] {"--steps", "120"});
    LossDemo.Images train = LossDemo.makeImages(o.trainCaptions(), o.imagesPerCaption(), o.seed());
    LossDemo.Images test = LossDemo.makeImages(o.testCaptions(), o.imagesPerCaption(), o.seed() + 1000);
    PrintStream stdout = System.out;
    System.setOut(new PrintStream(java.io.OutputStream.nullOutputStream()));
    LossDemo.Run run;
    try {
      run = LossDemo.train("m=4", o, 4, train);
    } finally {
      System.setOut(stdout);
    }
    double trained = LossDemo.nearestNeighbourAccuracy(LossDemo.embed(run.model(), test.x()), test.caption());
    double random = LossDemo.nearestNeighbourAccuracy(
        LossDemo.embed(LossDemo.encoder(o.seed(), io.github.stablerep.core.loss.MultiPositiveContrastiveLoss.builder().build()), test.x()),
        test.caption());
    assertThat(trained).isGreaterThan(random + 0.2);
    assertThat(run.loss()[run.loss().length - 1]).isLessThan(run.loss()[0]);
  }
}
