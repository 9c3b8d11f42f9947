package io.github.stablerep.benchmarks.boundaries;

import static org.assertj.core.api.Assertions.assertThat;

import com.tngtech.archunit.core.domain.Dependency;
import com.tngtech.archunit.core.domain.JavaClass;
import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.domain.Source;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import io.github.stablerep.benchmarks.boundaries.fixture.Neighbour;
import io.github.stablerep.benchmarks.boundaries.fixture.User;
import io.github.stablerep.benchmarks.boundaries.fixture.internal.Hidden;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.function.Function;
import java.util.function.Predicate;
import java.util.regex.Pattern;
import javax.xml.parsers.DocumentBuilderFactory;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.w3c.dom.Element;
import org.w3c.dom.Node;

/**
 * The module rules of issue 14, checked on the bytecode of every module (ArchUnit):
 *
 * <ul>
 *   <li>no module uses another module's {@code internal} package;
 *   <li>no package is split across modules (main code; a split package breaks the Java module
 *       system and makes "package-private" mean two jars);
 *   <li>library modules (every module but the applications, examples and benchmarks) do not
 *       depend on an application: not in their main code, and not in their POM outside the test
 *       scope (a library's tests may compare with an application, as stablerep-spark's compare
 *       with the generation job).
 * </ul>
 *
 * <p>A class's module is where its bytecode came from ({@code <module>/target/...} in a reactor
 * build, {@code <artifactId>-<version>.jar} from a repository), and the modules are the parent
 * POM's {@code <modules>}; so a new module is covered without editing this test, and the test
 * fails until the module's classes are on this test's classpath (a test dependency of
 * benchmarks, the one module that nothing else depends on).
 */
class ModuleBoundariesTest {

  private static final String ROOT_PACKAGE = "io.github.stablerep";
  private static final Set<String> APPLICATIONS = Set.of("examples", "benchmarks");
  private static final Pattern INTERNAL = Pattern.compile("(^|\\.)internal(\\.|$)");

  /** A module of the build: its folder name, artifactId, packaging and folder. */
  record Module(String name, String artifactId, String packaging, Path dir) {
    boolean library() {
      return !APPLICATIONS.contains(name);
    }
  }

  private static List<Module> modules;
  private static JavaClasses classes;

  @BeforeAll
  static void importEverything() throws Exception {
    modules = readModules(projectRoot());
    classes = new ClassFileImporter().importPackages(ROOT_PACKAGE);
  }

  private static Path projectRoot() {
    Path p = Path.of(System.getProperty("basedir", ".")).toAbsolutePath();
    for (; p != null; p = p.getParent()) {
      if (Files.isRegularFile(p.resolve("pom.xml")) && Files.isDirectory(p.resolve("examples"))
          && Files.isDirectory(p.resolve("stablerep-core"))) {
        return p;
      }
    }
    throw new IllegalStateException("no project root (a pom.xml next to examples/ and "
        + "stablerep-core/) above " + System.getProperty("basedir", "."));
  }

  private static Element pom(Path file) throws Exception {
    return DocumentBuilderFactory.newInstance().newDocumentBuilder().parse(file.toFile())
        .getDocumentElement();
  }

  /** The text of {@code project}'s direct child {@code name}, or null. */
  private static String child(Element project, String name) {
    for (Node n = project.getFirstChild(); n != null; n = n.getNextSibling()) {
      if (n instanceof Element e && e.getTagName().equals(name)) {
        return e.getTextContent().trim();
      }
    }
    return null;
  }

  private static List<Module> readModules(Path root) throws Exception {
    List<Module> out = new ArrayList<>();
    Element parent = pom(root.resolve("pom.xml"));
    for (Node n = parent.getFirstChild(); n != null; n = n.getNextSibling()) {
      if (n instanceof Element e && e.getTagName().equals("modules")) {
        for (Node m = e.getFirstChild(); m != null; m = m.getNextSibling()) {
          if (m instanceof Element me && me.getTagName().equals("module")) {
            String name = me.getTextContent().trim();
            Path dir = root.resolve(name).normalize();
            Element project = pom(dir.resolve("pom.xml"));
            String packaging = Optional.ofNullable(child(project, "packaging")).orElse("jar");
            out.add(new Module(name, child(project, "artifactId"), packaging, dir));
          }
        }
      }
    }
    assertThat(out).as("modules of %s", root.resolve("pom.xml")).isNotEmpty();
    return out;
  }

  /** Where a class's bytecode came from: a folder or a jar file; empty when unknown. */
  private static Optional<Path> origin(JavaClass c) {
    Optional<Source> source = c.getSource();
    if (source.isEmpty()) {
      return Optional.empty();
    }
    String uri = source.get().getUri().toString();
    if (uri.startsWith("jar:")) {
      uri = uri.substring("jar:".length(), uri.indexOf("!/"));
    }
    return uri.startsWith("file:") ? Optional.of(Path.of(URI.create(uri))) : Optional.empty();
  }

  /** The module a class belongs to, by where its bytecode came from; null for other code. */
  static String moduleOf(JavaClass c) {
    Optional<Path> origin = origin(c);
    if (origin.isEmpty()) {
      return null;
    }
    Path p = origin.get().toAbsolutePath().normalize();
    // A module's jar by its name first, wherever it lies: a packaged application carries copies
    // of the library jars (examples/target/lib, reached through its manifest's Class-Path).
    String file = p.getFileName().toString();
    Optional<String> byName = Files.isRegularFile(p)
        ? modules.stream()
            .filter(m -> file.startsWith(m.artifactId() + "-"))
            .max(Comparator.comparingInt(m -> m.artifactId().length()))
            .map(Module::name)
        : Optional.empty();
    if (byName.isPresent()) {
      return byName.get();
    }
    for (Module m : modules) {
      if (p.startsWith(m.dir())) {
        return m.name();
      }
    }
    return null;
  }

  /** Test code: a test-classes folder or a test jar. */
  static boolean isTestCode(JavaClass c) {
    return origin(c).map(p -> {
      String s = p.toString().replace('\\', '/');
      return s.contains("/test-classes") || s.endsWith("-tests.jar");
    }).orElse(false);
  }

  private static boolean ours(JavaClass c) {
    return c.getPackageName().equals(ROOT_PACKAGE) || c.getPackageName().startsWith(ROOT_PACKAGE + ".");
  }

  private static JavaClass base(JavaClass c) {
    return c.isArray() ? c.getBaseComponentType() : c;
  }

  /** Uses of a class in an {@code internal} package from a class of another module. */
  static List<String> internalUses(Iterable<JavaClass> all, Function<JavaClass, String> moduleOf) {
    Set<String> out = new TreeSet<>();
    for (JavaClass c : all) {
      String from = moduleOf.apply(c);
      for (Dependency d : c.getDirectDependenciesFromSelf()) {
        JavaClass t = base(d.getTargetClass());
        if (ours(t) && INTERNAL.matcher(t.getPackageName()).find()) {
          String to = moduleOf.apply(t);
          if (from == null || !from.equals(to)) {
            out.add(c.getName() + " (" + from + ") uses " + t.getName() + " (" + to + ")");
          }
        }
      }
    }
    return new ArrayList<>(out);
  }

  /** Packages whose main classes come from more than one module. */
  static Map<String, Set<String>> splitPackages(Iterable<JavaClass> all,
      Function<JavaClass, String> moduleOf) {
    Map<String, Set<String>> byPackage = new TreeMap<>();
    for (JavaClass c : all) {
      byPackage.computeIfAbsent(c.getPackageName(), k -> new TreeSet<>())
          .add(String.valueOf(moduleOf.apply(c)));
    }
    byPackage.values().removeIf(s -> s.size() < 2);
    return byPackage;
  }

  /** Dependencies of library classes on application classes. */
  static List<String> libraryUsesOfApplications(Iterable<JavaClass> all,
      Function<JavaClass, String> moduleOf, Predicate<String> isApplication) {
    Set<String> out = new TreeSet<>();
    for (JavaClass c : all) {
      String from = moduleOf.apply(c);
      if (from == null || isApplication.test(from)) {
        continue;
      }
      for (Dependency d : c.getDirectDependenciesFromSelf()) {
        JavaClass t = base(d.getTargetClass());
        String to = ours(t) ? moduleOf.apply(t) : null;
        if (to != null && isApplication.test(to)) {
          out.add(c.getName() + " (" + from + ") uses " + t.getName() + " (" + to + ")");
        }
      }
    }
    return new ArrayList<>(out);
  }

  private static List<JavaClass> mainClasses() {
    List<JavaClass> out = new ArrayList<>();
    for (JavaClass c : classes) {
      if (!isTestCode(c)) {
        out.add(c);
      }
    }
    return out;
  }

  @Test
  void everyModuleIsOnTheClasspathSoThatItsBoundariesAreChecked() {
    Set<String> seen = new TreeSet<>();
    for (JavaClass c : mainClasses()) {
      seen.add(String.valueOf(moduleOf(c)));
    }
    for (Module m : modules) {
      if (!m.packaging().equals("pom")) {
        assertThat(seen).as("module %s: its main classes are not on ModuleBoundariesTest's "
            + "classpath; add %s to benchmarks/pom.xml as a test dependency (with <exclusions> "
            + "of its own dependencies if they are heavy: the test reads bytecode only)",
            m.name(), m.artifactId()).contains(m.name());
      }
    }
    assertThat(seen).as("every class of %s comes from a known module", ROOT_PACKAGE)
        .doesNotContain("null");
  }

  @Test
  void noModuleUsesAnotherModulesInternalPackage() {
    assertThat(internalUses(classes, ModuleBoundariesTest::moduleOf)).isEmpty();
  }

  @Test
  void noPackageIsSplitAcrossModules() {
    assertThat(splitPackages(mainClasses(), ModuleBoundariesTest::moduleOf)).isEmpty();
  }

  @Test
  void libraryModulesDoNotDependOnApplications() throws Exception {
    assertThat(libraryUsesOfApplications(mainClasses(), ModuleBoundariesTest::moduleOf,
        APPLICATIONS::contains)).isEmpty();
    Set<String> applicationArtifacts = new TreeSet<>();
    modules.stream().filter(m -> !m.library()).forEach(m -> applicationArtifacts.add(m.artifactId()));
    List<String> declared = new ArrayList<>();
    for (Module m : modules) {
      if (m.library()) {
        Element project = pom(m.dir().resolve("pom.xml"));
        org.w3c.dom.NodeList deps = project.getElementsByTagName("dependency");
        for (int i = 0; i < deps.getLength(); i++) {
          Element d = (Element) deps.item(i);
          String artifact = child(d, "artifactId");
          String scope = Optional.ofNullable(child(d, "scope")).orElse("compile");
          if (applicationArtifacts.contains(artifact) && !scope.equals("test")) {
            declared.add(m.name() + "/pom.xml: " + artifact + " (" + scope + ")");
          }
        }
      }
    }
    assertThat(declared).as("library POMs declaring an application outside the test scope").isEmpty();
  }

  /**
   * The checks above find nothing in a sound build; this shows that each of them does find a
   * violation when one is there, by assigning the fixture classes to modules that break a rule.
   */
  @Test
  void eachCheckReportsAViolationPlantedInTheFixture() throws IOException {
    JavaClasses fixture = new ClassFileImporter().importClasses(User.class, Hidden.class, Neighbour.class);
    JavaClass user = fixture.get(User.class);
    JavaClass hidden = fixture.get(Hidden.class);
    JavaClass neighbour = fixture.get(Neighbour.class);
    assertThat(moduleOf(user)).isEqualTo("benchmarks");
    assertThat(isTestCode(user)).isTrue();

    // as built: one module, so nothing to report
    assertThat(internalUses(fixture, ModuleBoundariesTest::moduleOf)).isEmpty();
    assertThat(splitPackages(fixture, ModuleBoundariesTest::moduleOf)).isEmpty();

    Map<JavaClass, String> planted = Map.of(user, "stablerep-models", hidden, "stablerep-core",
        neighbour, "stablerep-eval");
    assertThat(internalUses(fixture, planted::get)).containsExactly(User.class.getName()
        + " (stablerep-models) uses " + Hidden.class.getName() + " (stablerep-core)");
    assertThat(splitPackages(fixture, planted::get)).containsOnlyKeys(User.class.getPackageName());

    Map<JavaClass, String> libraryOnApplication = Map.of(user, "stablerep-core", hidden, "examples",
        neighbour, "stablerep-core");
    assertThat(libraryUsesOfApplications(fixture, libraryOnApplication::get, APPLICATIONS::contains))
        .containsExactly(User.class.getName() + " (stablerep-core) uses " + Hidden.class.getName()
            + " (examples)");
  }
}
