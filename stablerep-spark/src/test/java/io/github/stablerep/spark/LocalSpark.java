package io.github.stablerep.spark;

import org.apache.spark.sql.SparkSession;

/** The tests' SparkSession: local[2] with a retry allowed (local mode reads it from the master string). */
final class LocalSpark {
  private LocalSpark() {}

  /**
   * {@code local[2,3]}: two task threads, and a task may fail twice before the job does. Local mode
   * ignores spark.task.maxFailures (it is fixed at 1 for {@code local[N]}), so the count goes in
   * the master string; the config is set as well for what it says.
   */
  static SparkSession session() {
    return SparkSession.builder().master("local[2,3]").appName("stablerep-spark-test")
        .config("spark.task.maxFailures", "3")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .getOrCreate();
  }
}
