package io.github.stablerep.spark;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.apache.spark.SparkEnv;
import org.apache.spark.SparkFiles;

/**
 * Where an executor finds a model folder or weights file: a path that every node mounts (a
 * shared filesystem, or the same local path on every node), or {@code spark-files:NAME} for one
 * that Spark shipped to the executors ({@code spark-submit --archives model.zip#NAME}, or {@code
 * SparkContext.addFile(folder, true)}), found under {@link SparkFiles#getRootDirectory()}.
 */
final class ExecutorFiles {

  /** The prefix of a location that Spark shipped. */
  static final String SPARK_FILES = "spark-files:";

  private ExecutorFiles() {}

  /** The local path of {@code location} on this JVM. */
  static Path resolve(String location) {
    if (location.startsWith(SPARK_FILES)) {
      return Path.of(SparkFiles.get(location.substring(SPARK_FILES.length())));
    }
    return Path.of(location);
  }

  /** The files of {@code relative} that are missing or unreadable under {@code location}, here. */
  static List<String> unreadable(String location, List<String> relative) {
    Path base = resolve(location);
    List<String> missing = new ArrayList<>();
    for (String r : relative) {
      Path p = r.isEmpty() ? base : base.resolve(r);
      if (!Files.isReadable(p) || (r.isEmpty() ? Files.isDirectory(p) : !Files.isRegularFile(p))) {
        missing.add(r.isEmpty() ? "the file itself" : r);
      }
    }
    return missing;
  }

  /** This executor's id and host, for messages. */
  static String executor() {
    SparkEnv env = SparkEnv.get();
    String host;
    try {
      host = java.net.InetAddress.getLocalHost().getHostName();
    } catch (java.io.IOException e) {
      host = "unknown host";
    }
    return "executor " + (env == null ? "?" : env.executorId()) + " on " + host;
  }
}
