package io.github.stablerep.examples.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Issue 13's "done means" for the command line: {@link CliCorpusDriver} runs every file-reading
 * command over the hostile corpus and the catalogue of {@link BadCommandLines} in a child JVM
 * capped at {@value #HEAP} of heap and {@value #NATIVE} of JavaCPP (ND4J) native memory, {@value
 * #PHYSICAL} resident in all; an allocation past a cap fails the run it happens in.
 */
class StableRepCliCorpusTest {

  static final String HEAP = "768m";
  static final String NATIVE = "1g";
  static final String PHYSICAL = "2500m";

  @TempDir Path tmp;

  @Test
  void everyCommandEndsWithExitZeroOrOneLineAndExitTwoUnderAMemoryCap() throws Exception {
    Path report = tmp.resolve("report.txt");
    List<String> cmd = new ArrayList<>(List.of(
        Path.of(System.getProperty("java.home"), "bin", "java").toString(),
        "-Xmx" + HEAP, "-Xss4m", "-XX:+UseSerialGC",
        "-Dorg.bytedeco.javacpp.maxbytes=" + NATIVE,
        "-Dorg.bytedeco.javacpp.maxphysicalbytes=" + PHYSICAL,
        "-Dorg.slf4j.simpleLogger.defaultLogLevel=error"));
    String extension = System.getProperty("org.bytedeco.javacpp.platform.extension");
    if (extension != null) {
      cmd.add("-Dorg.bytedeco.javacpp.platform.extension=" + extension);
    }
    cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), CliCorpusDriver.class.getName(),
        tmp.resolve("scratch").toString(), report.toString()));
    ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true)
        .redirectOutput(tmp.resolve("driver.log").toFile());
    pb.environment().put("OMP_NUM_THREADS", "1");
    Process p = pb.start();
    boolean done = p.waitFor(15, TimeUnit.MINUTES);
    if (!done) {
      p.destroyForcibly();
    }
    String log = Files.readString(tmp.resolve("driver.log"));
    String tally = Files.exists(report) ? Files.readString(report) : "(no report)";
    System.out.print(tally);
    Path target = Path.of("target");
    if (Files.isDirectory(target)) {
      Files.writeString(target.resolve("cli-corpus-tally.txt"), tally);
    }
    assertThat(done).as("the driver finished within 15 minutes").isTrue();
    assertThat(p.exitValue()).as("driver exit; report:%n%s%nlog tail:%n%s", tally,
        log.length() > 4000 ? log.substring(log.length() - 4000) : log).isZero();
  }
}
