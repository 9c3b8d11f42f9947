package io.github.stablerep.spark;

import io.github.stablerep.examples.GenerationJob;
import io.github.stablerep.examples.TinyStableDiffusion;
import io.github.stablerep.models.diffusion.SchedulerType;
import io.github.stablerep.models.diffusion.StableDiffusionPipeline;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import org.apache.spark.sql.Row;
import org.apache.spark.sql.RowFactory;
import org.apache.spark.sql.SparkSession;
import org.apache.spark.sql.types.DataTypes;
import org.apache.spark.sql.types.StructType;

/**
 * Throughput of {@link SparkGeneration} on {@code local[2]} against the single-process {@link
 * GenerationJob} on the same work: the shipped tiny Stable Diffusion, the same captions, images
 * per caption, steps and batch size, each model built and warmed up before its timed run.
 * Runs both in each round, the single process first in even rounds and Spark first in odd ones,
 * and reports each round's ratio and the ratio of the best runs. Not a test: run it on a quiet machine (README, "Scaling out"):
 *
 * <pre>
 * stablerep-spark/throughput.sh 20 10 10
 * </pre>
 *
 * Arguments: captions (40 when run directly; the script passes 20), images per caption (10),
 * DPM-Solver++ steps (10), rounds (3); the batch is one caption's images, so both sides make
 * exactly the same pipeline calls.
 */
public final class GenerationThroughput {

  public static void main(String[] args) throws Exception {
    int captions = args.length > 0 ? Integer.parseInt(args[0]) : 40;
    int m = args.length > 1 ? Integer.parseInt(args[1]) : 10;
    int steps = args.length > 2 ? Integer.parseInt(args[2]) : 10;
    int rounds = args.length > 3 ? Integer.parseInt(args[3]) : 3;
    Path tmp = Files.createTempDirectory("stablerep-throughput");
    Path model = TinyStableDiffusion.folder(tmp.resolve("cache"));
    List<TinyStableDiffusion.Caption> vocab = TinyStableDiffusion.captions(9);
    List<String> texts = new ArrayList<>();
    for (int i = 0; i < captions; i++) {
      texts.add(vocab.get(i % vocab.size()).text());
    }
    Path file = Files.writeString(tmp.resolve("captions.txt"), String.join("\n", texts) + "\n");

    StableDiffusionPipeline pipe = StableDiffusionPipeline.builder().modelDirectory(model)
        .scheduler(SchedulerType.DPM_SOLVER_MULTISTEP).steps(steps).guidanceScale(2.0).height(32).width(32).build();
    GenerationJob.Builder single = GenerationJob.builder().captions(file).imagesPerCaption(m).outputSize(28)
        .centreCrop(28, 28).seed(0).batchSize(m);
    Path warm = Files.writeString(tmp.resolve("warm.txt"), texts.get(0) + "\n" + texts.get(1) + "\n");
    GenerationJob.builder().captions(warm).outputDirectory(tmp.resolve("warm-single")).imagesPerCaption(m)
        .outputSize(28).centreCrop(28, 28).seed(0).batchSize(m).build().run(pipe, null, null);

    SparkSession spark = SparkSession.builder().master("local[2]").appName("throughput")
        .config("spark.ui.enabled", "false").config("spark.sql.shuffle.partitions", "2").getOrCreate();
    spark.sparkContext().setLogLevel("WARN");
    List<Row> rows = new ArrayList<>();
    for (int i = 0; i < captions; i++) {
      rows.add(RowFactory.create(Integer.toString(i), texts.get(i)));
    }
    StructType schema = new StructType().add("caption_id", DataTypes.StringType, false)
        .add("caption", DataTypes.StringType, false);
    SparkGeneration.Builder job = SparkGeneration.builder().model(model.toString())
        .scheduler(SchedulerType.DPM_SOLVER_MULTISTEP).steps(steps).guidanceScale(2.0).generatedSize(32)
        .centreCrop(28, 28).outputSize(28).imagesPerCaption(m).seed(0).batchSize(m);
    job.build().run(spark.createDataFrame(rows.subList(0, 2), schema), tmp.resolve("warm-spark").toString());

    double[] singleRate = new double[rounds];
    double[] sparkRate = new double[rounds];
    long images = (long) captions * m;
    for (int round = 0; round < rounds; round++) {
      // alternate which side goes first, so that drift in the machine's speed favours neither
      for (boolean sparkTurn : round % 2 == 0 ? new boolean[] {false, true} : new boolean[] {true, false}) {
        long t0 = System.nanoTime();
        if (sparkTurn) {
          SparkGeneration.Result r = job.build().run(spark.createDataFrame(rows, schema),
              tmp.resolve("spark-" + round).toString());
          sparkRate[round] = r.generated() / ((System.nanoTime() - t0) / 1e9);
        } else {
          single.outputDirectory(tmp.resolve("single-" + round)).build().run(pipe, null, null);
          singleRate[round] = images / ((System.nanoTime() - t0) / 1e9);
        }
      }
      System.out.printf(Locale.ROOT, "round %d (%s first): GenerationJob %.2f images/s, Spark local[2] %.2f images/s,"
          + " Spark / single %.1f %%%n", round, round % 2 == 0 ? "GenerationJob" : "Spark", singleRate[round],
          sparkRate[round], 100 * sparkRate[round] / singleRate[round]);
    }
    double best = Arrays.stream(singleRate).max().orElseThrow();
    double bestSpark = Arrays.stream(sparkRate).max().orElseThrow();
    System.out.printf(Locale.ROOT, "%d captions x %d images, DPM-Solver++ %d steps, batch %d: GenerationJob %.2f"
        + " images/s, Spark local[2] %.2f images/s (%.2f per executor core): Spark keeps %.1f %%%n", captions, m, steps,
        m, best, bestSpark, bestSpark / 2, 100 * bestSpark / best);
    spark.stop();
  }
}
