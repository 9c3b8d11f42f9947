package io.github.stablerep.spark;

import java.util.ArrayList;
import java.util.Collections;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.stream.IntStream;
import org.apache.spark.api.java.JavaSparkContext;
import org.apache.spark.sql.SparkSession;

/** Checks made on the driver before a job's real work is submitted. */
final class Submission {

  private Submission() {}

  /**
   * Fails with one line unless every executor reachable now can read {@code files} under {@code
   * location}: a small job of one task per default-parallelism slot, so a path that exists only
   * on the driver (the usual mistake on a cluster) is caught before hours of work are queued.
   *
   * @throws IllegalArgumentException naming the option, the location, an executor and the
   *     missing files
   */
  static void requireReadable(SparkSession spark, String option, String location, List<String> files, String kind) {
    JavaSparkContext jsc = JavaSparkContext.fromSparkContext(spark.sparkContext());
    int slots = Math.max(1, jsc.defaultParallelism());
    List<Integer> ids = new ArrayList<>();
    IntStream.range(0, slots).forEach(ids::add);
    List<String> problems = jsc.parallelize(ids, slots).mapPartitions((Iterator<Integer> it) -> {
      List<String> missing = ExecutorFiles.unreadable(location, files);
      return missing.isEmpty() ? Collections.<String>emptyIterator()
          : List.of(ExecutorFiles.executor() + " cannot read " + String.join(", ", missing)).iterator();
    }).collect();
    if (!problems.isEmpty()) {
      Set<String> distinct = new LinkedHashSet<>(problems);
      String first = distinct.iterator().next();
      throw new IllegalArgumentException(option + ": expected " + kind + " readable on every executor, found "
          + location + " where " + first + (distinct.size() > 1 ? " (and " + (distinct.size() - 1) + " more)" : "")
          + "; put it on a path every node mounts, or ship it (spark-submit --archives model.zip#NAME, then "
          + ExecutorFiles.SPARK_FILES + "NAME)");
    }
  }
}
