#!/usr/bin/env bash
# Spark local[2] generation against single-process GenerationJob on the same work (README,
# "Scaling out"). Builds the reactor's classes (no install), then runs GenerationThroughput with
# Spark's JVM flags. Arguments: captions, images per caption, DPM-Solver++ steps, rounds (default 20 10 10 3).
# Run it on a quiet machine: it measures wall time.
set -euo pipefail
cd "$(dirname "$0")/.."
cp_file=$(mktemp)
mvn -q -B -ntp -pl stablerep-spark -am test-compile dependency:build-classpath \
    -Dmdep.outputFile="$cp_file" -Dmdep.includeScope=test
spark_flags=$(sed -n 's/.*<spark.argLine>\(.*\)<\/spark.argLine>.*/\1/p' stablerep-spark/pom.xml)
cp="stablerep-spark/target/test-classes:stablerep-spark/target/classes:$(cat "$cp_file")"
rm -f "$cp_file"
# shellcheck disable=SC2086
OMP_NUM_THREADS=2 exec java -Dorg.bytedeco.javacpp.platform.extension=-onednn -Xmx4g \
    -Dorg.bytedeco.javacpp.maxbytes=8G \
    -Dlog4j2.configurationFile=stablerep-spark/src/test/resources/log4j2-test.properties \
    $spark_flags -cp "$cp" io.github.stablerep.spark.GenerationThroughput "${1:-20}" "${2:-10}" "${3:-10}" "${4:-3}"
