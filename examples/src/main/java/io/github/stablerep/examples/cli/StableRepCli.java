package io.github.stablerep.examples.cli;

import io.github.stablerep.augment.ImageDecodeException;
import io.github.stablerep.augment.data.CaptionDatasetException;
import io.github.stablerep.core.io.NpyException;
import io.github.stablerep.core.io.SafeTensorsException;
import io.github.stablerep.eval.data.DatasetFormatException;
import java.io.IOException;
import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.nio.file.Path;
import java.util.concurrent.CancellationException;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.ScopeType;
import picocli.CommandLine.Spec;

/**
 * The {@code stablerep} command line: {@code java -jar examples/target/stablerep.jar <command>}.
 *
 * <p>Exit codes: 0 success, 2 a usage error (a bad option value, a missing or malformed input
 * file: one line on stderr naming what was wrong and what was expected, no stack trace), 1 any
 * other failure. Results go to stdout and to files; progress bars go to stderr.
 */
@Command(
    name = "stablerep",
    mixinStandardHelpOptions = true,
    scope = ScopeType.INHERIT,
    versionProvider = StableRepCli.Version.class,
    description = {
      "StableRep on ND4J: generate a synthetic dataset, pretrain a ViT with the multi-positive"
          + " contrastive loss, embed images, probe features and export weights for PyTorch.",
      "Run 'stablerep <command> --help' for a command's options."
    },
    subcommands = {
      DemoCommand.class,
      GenerateCommand.class,
      PretrainCommand.class,
      EmbedCommand.class,
      ProbeCommand.class,
      ExportCommand.class,
      CommandLine.HelpCommand.class
    })
public final class StableRepCli implements Runnable {

  /** Exit code of a usage error, picocli's own. */
  public static final int USAGE_ERROR = 2;
  /** Exit code of a failure that is not the user's input (an I/O error, a bug). */
  public static final int FAILURE = 1;

  @Spec CommandSpec spec;

  final PrintStream out;
  final PrintStream err;

  StableRepCli(PrintStream out, PrintStream err) {
    this.out = out;
    this.err = err;
  }

  @Override
  public void run() {
    throw new ParameterException(spec.commandLine(), "expected a command: "
        + String.join(", ", spec.subcommands().keySet()));
  }

  public static void main(String[] args) {
    // ND4J logs its start-up at INFO and harmless op-mapping notes at WARN; a command line shows
    // errors only unless asked (-Dorg.slf4j.simpleLogger.defaultLogLevel=info).
    if (System.getProperty("org.slf4j.simpleLogger.defaultLogLevel") == null) {
      System.setProperty("org.slf4j.simpleLogger.defaultLogLevel", "error");
    }
    PrintStream stdout = System.out;
    // SameDiff prints a line per op to System.out when it first builds a backward graph; keep
    // stdout for results by sending whatever libraries print there to stderr, minus that noise.
    System.setOut(new PrintStream(new QuietLines(System.err, "Added differentiated op "), true,
        StandardCharsets.UTF_8));
    System.exit(execute(stdout, System.err, args));
  }

  /** Runs the command line with the given streams and returns the exit code (for tests and embedding). */
  public static int execute(PrintStream out, PrintStream err, String... args) {
    CommandLine cl = commandLine(out, err);
    return cl.execute(args);
  }

  /** The configured picocli command: defaults shown in every help, user errors mapped to exit 2. */
  static CommandLine commandLine(PrintStream out, PrintStream err) {
    CommandLine cl = new CommandLine(new StableRepCli(out, err), new Factory(out, err));
    cl.setOut(new PrintWriter(out, true, StandardCharsets.UTF_8));
    cl.setErr(new PrintWriter(err, true, StandardCharsets.UTF_8));
    cl.setCaseInsensitiveEnumValuesAllowed(true);
    // every numeric option must be finite: Double.valueOf takes "NaN" and "Infinity", and a NaN
    // learning rate or guidance scale silently poisons (or, through a null check, skips) a run
    cl.registerConverter(Double.class, StableRepCli::finiteDouble);
    cl.registerConverter(Double.TYPE, StableRepCli::finiteDouble);
    cl.registerConverter(Path.class, StableRepCli::path);
    showDefaults(cl);
    cl.setParameterExceptionHandler((ex, args) -> {
      CommandLine c = ex.getCommandLine();
      c.getErr().println(c.getCommandSpec().qualifiedName() + ": " + ex.getMessage()
          + " (see '" + c.getCommandSpec().qualifiedName() + " --help')");
      c.getErr().flush();
      return USAGE_ERROR;
    });
    cl.setExecutionExceptionHandler((ex, c, parsed) -> {
      String who = c.getCommandSpec().qualifiedName();
      if (ex instanceof UncheckedIOException u && isUserError(u.getCause())) {
        // a reader's format error wrapped on its way up ("weights X: cannot be read"): keep the reason
        c.getErr().println(who + ": " + message(u) + ": " + message(u.getCause()));
        c.getErr().flush();
        return USAGE_ERROR;
      }
      if (isUserError(ex)) {
        c.getErr().println(who + ": " + againstOption(c, message(ex)));
        c.getErr().flush();
        return USAGE_ERROR;
      }
      if (ex instanceof CancellationException) {
        c.getErr().println(who + ": " + message(ex));
        c.getErr().flush();
        return FAILURE;
      }
      if (ex instanceof IOException || ex instanceof UncheckedIOException) {
        c.getErr().println(who + ": I/O error: " + message(ex));
        c.getErr().flush();
        return FAILURE;
      }
      throw ex; // a bug: picocli prints the stack trace and returns 1
    });
    return cl;
  }

  /**
   * A builder's validation message ("hiddenDim: expected >= 1, found 0") restated against the
   * option the user typed ("--head-hidden: expected >= 1, found 0"); other messages unchanged.
   */
  static String againstOption(CommandLine c, String message) {
    int colon = message.indexOf(':');
    if (colon > 0 && c.getCommand() instanceof CliCommand cmd
        && message.substring(0, colon).chars().allMatch(Character::isJavaIdentifierPart)) {
      String option = cmd.optionOf(message.substring(0, colon));
      if (option != null) {
        return option + message.substring(colon);
      }
    }
    return message;
  }

  /** A path argument; the JDK's own refusal names its exception class and prints the NUL raw. */
  static Path path(String value) {
    int nul = value.indexOf('\0');
    if (nul >= 0) {
      throw new CommandLine.TypeConversionException("expected a path without NUL characters, found one at character " + nul);
    }
    try {
      return Path.of(value);
    } catch (java.nio.file.InvalidPathException e) {
      throw new CommandLine.TypeConversionException("expected a path, found one the file system refuses: " + e.getReason());
    }
  }

  private static void showDefaults(CommandLine cl) {
    cl.getCommandSpec().usageMessage().showDefaultValues(true).sortOptions(false)
        .width(100).autoWidth(true);
    for (CommandLine sub : cl.getSubcommands().values()) {
      showDefaults(sub);
    }
  }

  /**
   * Bad input from the user: an argument that fails validation or a file that is missing or not
   * in the expected format. These get one line and exit code 2.
   */
  static boolean isUserError(Throwable ex) {
    return ex instanceof IllegalArgumentException
        || ex instanceof ParameterException
        || ex instanceof NoSuchFileException
        || ex instanceof NotDirectoryException
        || ex instanceof FileAlreadyExistsException
        || ex instanceof AccessDeniedException
        || ex instanceof SafeTensorsException
        || ex instanceof NpyException
        || ex instanceof DatasetFormatException
        || ex instanceof CaptionDatasetException
        || ex instanceof ImageDecodeException;
  }

  /** The exception's message on one line, with control characters (a NUL from a file name) escaped. */
  static String message(Throwable ex) {
    String m = ex.getMessage();
    if (ex instanceof NoSuchFileException) {
      m = "expected an existing file, found none at " + m;
    } else if (ex instanceof NotDirectoryException) {
      m = "expected a folder, found a file at " + m;
    } else if (ex instanceof FileAlreadyExistsException) {
      m = "expected a path that does not exist yet, found an existing file at " + m;
    } else if (ex instanceof java.nio.charset.CharacterCodingException) {
      m = "expected UTF-8 text, found malformed bytes (" + ex.getClass().getSimpleName() + ": " + m + ")";
    } else if (m == null) {
      m = ex.getClass().getSimpleName();
    }
    StringBuilder out = new StringBuilder(m.length());
    for (int i = 0; i < m.length(); i++) {
      char ch = m.charAt(i);
      if (ch < 0x20 && ch != '\n' || ch == 0x7F) {
        out.append(String.format("\\u%04x", (int) ch));
      } else {
        out.append(ch);
      }
    }
    return out.toString();
  }

  /** picocli's conversion of a numeric option, refusing NaN and infinities. */
  static Double finiteDouble(String text) {
    double v;
    try {
      v = Double.parseDouble(text);
    } catch (NumberFormatException e) {
      throw new CommandLine.TypeConversionException("expected a number, found '" + text + "'");
    }
    if (!Double.isFinite(v)) {
      throw new CommandLine.TypeConversionException("expected a finite number, found '" + text + "'");
    }
    return v;
  }

  /** Creates commands with the streams of this run, so tests can capture them. */
  private static final class Factory implements CommandLine.IFactory {
    private final PrintStream out;
    private final PrintStream err;
    private final CommandLine.IFactory fallback = CommandLine.defaultFactory();

    Factory(PrintStream out, PrintStream err) {
      this.out = out;
      this.err = err;
    }

    @Override
    public <K> K create(Class<K> cls) throws Exception {
      if (cls == StableRepCli.class) {
        return cls.cast(new StableRepCli(out, err));
      }
      K k = fallback.create(cls);
      if (k instanceof CliCommand c) {
        c.streams(out, err);
      }
      return k;
    }
  }

  /** Passes lines through to {@code target} except those starting with {@code noise}. */
  private static final class QuietLines extends java.io.OutputStream {
    private final PrintStream target;
    private final byte[] noise;
    private final java.io.ByteArrayOutputStream line = new java.io.ByteArrayOutputStream();

    QuietLines(PrintStream target, String noise) {
      this.target = target;
      this.noise = noise.getBytes(StandardCharsets.UTF_8);
    }

    @Override
    public synchronized void write(int b) {
      line.write(b);
      if (b == '\n') {
        flushLine();
      }
    }

    @Override
    public synchronized void flush() {
      flushLine();
      target.flush();
    }

    private void flushLine() {
      byte[] l = line.toByteArray();
      line.reset();
      if (l.length >= noise.length && java.util.Arrays.equals(l, 0, noise.length, noise, 0, noise.length)) {
        return;
      }
      target.write(l, 0, l.length);
    }
  }

  static final class Version implements CommandLine.IVersionProvider {
    @Override
    public String[] getVersion() {
      String v = StableRepCli.class.getPackage().getImplementationVersion();
      return new String[] {"stablerep " + (v == null ? "(development build)" : v)};
    }
  }
}
