package io.github.stablerep.benchmarks;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Optional;

/**
 * Picks which build of ND4J's native library JavaCPP loads, and reports which one it did load.
 *
 * <p>{@code nd4j-native} puts its plain {@code linux-x86_64} jar on the classpath next to the
 * {@code linux-x86_64-onednn} one. Measured with 1.0.0-M2.1 / JavaCPP 1.5.7: when the system
 * property {@code org.bytedeco.javacpp.platform.extension} is <em>unset</em>, JavaCPP walks the
 * extension list of {@code Nd4jCpuPresets}' {@code @Platform} annotation, which starts with
 * {@code -onednn}, so the oneDNN build is loaded whenever its jar is on the classpath. Setting
 * the property to {@code -onednn} loads it too; setting it to the empty string (or any extension
 * without a jar, e.g. {@code -avx512}) loads the plain build. The property is read when ND4J's
 * native classes are first loaded; afterwards the choice is fixed for the life of the JVM. {@link
 * #select(String)} therefore has to run before anything touches {@code Nd4j}, which is why the
 * JMH benchmarks call it first in their trial setup: every parameter combination runs in its own
 * forked JVM, so one JMH invocation can measure both builds side by side.
 *
 * <p>{@link #loadedLibrary()} reads {@code /proc/self/maps} to see which {@code libnd4jcpu.so}
 * the process actually mapped; the benchmarks refuse to run when it is not the requested one.
 */
public final class NativeBackend {

    /** The JavaCPP system property that selects the native build. */
    public static final String EXTENSION_PROPERTY = "org.bytedeco.javacpp.platform.extension";

    private NativeBackend() {}

    /**
     * Sets the extension property for the named backend before ND4J loads.
     *
     * @param backend {@code onednn} (extension {@code -onednn}), {@code plain} (extension set to
     *     the empty string), {@code unset} (property removed: JavaCPP's own default order), or
     *     {@code inherit} (leave whatever {@code -D} the JVM was started with)
     */
    public static void select(String backend) {
        switch (backend.toLowerCase(Locale.ROOT)) {
            case "onednn" -> System.setProperty(EXTENSION_PROPERTY, "-onednn");
            case "plain" -> System.setProperty(EXTENSION_PROPERTY, "");
            case "unset" -> System.clearProperty(EXTENSION_PROPERTY);
            case "inherit" -> { }
            default -> throw new IllegalArgumentException(
                    "backend must be one of onednn, plain, unset, inherit; got '" + backend + "'");
        }
    }

    /** The path of the {@code libnd4jcpu.so} this process has mapped, if any. */
    public static Optional<String> loadedLibrary() {
        try {
            return Files.readAllLines(Path.of("/proc/self/maps")).stream()
                    .filter(l -> l.endsWith("/libnd4jcpu.so"))
                    .map(l -> l.substring(l.indexOf('/')))
                    .findFirst();
        } catch (IOException | RuntimeException e) {
            return Optional.empty();
        }
    }

    /** {@code onednn} or {@code plain}, from the directory the loaded library came from. */
    public static String loadedBackend() {
        String lib = loadedLibrary().orElse("");
        if (lib.contains("linux-x86_64-onednn/")) {
            return "onednn";
        }
        if (lib.contains("linux-x86_64/")) {
            return "plain";
        }
        return "unknown(" + lib + ")";
    }

    /**
     * Fails when the loaded build is not the requested one ({@code unset} and {@code inherit}
     * accept whichever build JavaCPP chose; the benchmarks print it).
     */
    public static void verify(String requested) {
        String loaded = loadedBackend();
        String expected = requested.toLowerCase(Locale.ROOT);
        if (expected.equals("unset") || expected.equals("inherit")) {
            return;
        }
        if (!expected.equals(loaded)) {
            throw new IllegalStateException("asked for the " + expected + " ND4J build but "
                    + loadedLibrary().orElse("no libnd4jcpu.so") + " is loaded");
        }
    }
}
