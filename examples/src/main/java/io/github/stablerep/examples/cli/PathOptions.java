package io.github.stablerep.examples.cli;

import io.github.stablerep.augment.data.PathPolicy;
import picocli.CommandLine.Option;

/** Where the image paths of a listing may lead: inside its folder unless the user trusts it. */
final class PathOptions {

  @Option(names = "--paths-anywhere", defaultValue = "false",
      description = "Trust the listings: let manifests name images outside their folder (absolute paths, '..')"
          + " and follow symbolic links out of it. Default: refuse them (PathPolicy.INSIDE_ROOT).")
  boolean anywhere;

  PathPolicy policy() {
    return anywhere ? PathPolicy.ANYWHERE : PathPolicy.INSIDE_ROOT;
  }
}
