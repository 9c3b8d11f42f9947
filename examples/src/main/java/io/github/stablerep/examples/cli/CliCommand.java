package io.github.stablerep.examples.cli;

import io.github.stablerep.core.io.AtomicFiles;
import io.github.stablerep.examples.ConsoleProgress;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Model.OptionSpec;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/** What every subcommand shares: the run's streams, usage errors, progress bars and file output. */
abstract class CliCommand implements Callable<Integer> {

  @Spec CommandSpec spec;

  PrintStream out = System.out;
  PrintStream err = System.err;

  final void streams(PrintStream out, PrintStream err) {
    this.out = out;
    this.err = err;
  }

  /** A usage error (exit code 2) naming the option, what was expected and what was found. */
  final ParameterException usage(String format, Object... args) {
    return new ParameterException(spec.commandLine(), String.format(format, args));
  }

  /** A progress bar on stderr, so stdout carries only results. */
  final ConsoleProgress progress(String label, long total) {
    return new ConsoleProgress(label, total, err);
  }

  /** Fails with a usage error unless {@code file} is an existing regular file. */
  final Path existingFile(String option, Path file) {
    if (file == null || !Files.isRegularFile(file)) {
      throw usage("%s: expected an existing file, found %s", option,
          file == null ? "nothing" : file + (Files.isDirectory(file) ? " (a folder)" : " (no such file)"));
    }
    return file;
  }

  /**
   * Builder fields whose names differ from this command's option names, so that a builder's
   * validation error ("hiddenDim: expected >= 1") is reported against the option the user typed.
   * Fields named as the option in camel case ({@code imageSize} for {@code --image-size}) need no
   * entry.
   */
  Map<String, String> builderFields() {
    return Map.of();
  }

  /** The option behind a builder field, or null: explicit entries first, then the camel-case rule. */
  final String optionOf(String field) {
    String explicit = builderFields().get(field);
    if (explicit != null) {
      return explicit;
    }
    for (OptionSpec o : spec.options()) {
      if (camelCase(o.longestName()).equals(field)) {
        return o.longestName();
      }
    }
    return null;
  }

  /** {@code --image-size} as {@code imageSize}. */
  static String camelCase(String option) {
    StringBuilder b = new StringBuilder();
    boolean upper = false;
    for (char ch : option.replaceFirst("^-+", "").toCharArray()) {
      if (ch == '-') {
        upper = true;
      } else {
        b.append(upper ? Character.toUpperCase(ch) : ch);
        upper = false;
      }
    }
    return b.toString();
  }

  /** Fails with a usage error when an output file's path names an existing folder. */
  final Path outputFile(String option, Path file) throws IOException {
    if (Files.isDirectory(file)) {
      throw usage("%s: expected a file to write, found the folder %s", option, file);
    }
    return prepareOutput(file);
  }

  /** Creates the parent folder of an output file. */
  /** The text of an optional config file, or null when the option is not given. */
  final String readConfig(String option, Path file) throws IOException {
    return file == null ? null : Files.readString(existingFile(option, file));
  }

  static Path prepareOutput(Path file) throws IOException {
    Path parent = file.toAbsolutePath().getParent();
    if (parent != null) {
      Files.createDirectories(parent);
    }
    return file;
  }

  /** Writes text through a temporary file renamed over the target, so readers never see half a file. */
  static void writeAtomically(Path file, String text) throws IOException {
    AtomicFiles.writeString(prepareOutput(file), text);
  }
}
