package io.github.stablerep.spark;

import static com.google.common.base.Preconditions.checkArgument;

import io.github.stablerep.augment.data.CaptionDataset;
import io.github.stablerep.augment.data.CaptionList;
import io.github.stablerep.augment.data.CaptionManifest;
import io.github.stablerep.core.io.AtomicFiles;
import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.hadoop.conf.Configuration;
import org.apache.parquet.example.data.Group;
import org.apache.parquet.hadoop.ParquetReader;
import org.apache.parquet.hadoop.example.GroupReadSupport;
import org.apache.parquet.schema.GroupType;
import org.apache.parquet.schema.PrimitiveType;
import org.apache.parquet.schema.Type;

/**
 * Reads {@link SparkGeneration}'s Parquet output without Spark and lays it out as {@code
 * GenerationJob} does, so the single-machine trainer reads it with {@code
 * CaptionDataset.fromManifest} (or the command line's {@code pretrain --data}): {@code
 * out/<caption id>/<index>.png} with the PNG bytes as they are in Parquet, and {@code
 * out/manifest.tsv} in caption id then index order.
 *
 * <p>It needs Parquet's reader ({@code org.apache.parquet:parquet-hadoop}) and Hadoop's client
 * classes ({@code hadoop-client-api}, {@code hadoop-client-runtime}) on the classpath, the jars
 * Spark ships, but starts no Spark. Each PNG is written to a temporary file and renamed; a PNG
 * already there is kept (the same row gives the same bytes); the manifest is written last,
 * atomically, so a manifest that exists lists only complete files.
 */
public final class ParquetImages {

  /** The manifest's file name inside the output folder, as {@code GenerationJob} names it. */
  public static final String MANIFEST = "manifest.tsv";

  private ParquetImages() {}

  /** What a conversion did. */
  public record Result(int captions, long images, long written, Path manifest) {}

  /**
   * Converts every {@code *.parquet} file in {@code parquetFolder} (Spark's output folder; files
   * whose names start with '_' or '.' are skipped as Spark's readers skip them).
   *
   * @throws IllegalArgumentException naming the file when a column is missing or of another
   *     type, a caption id cannot name a folder, or a (caption, index) pair occurs twice
   */
  public static Result toFolders(Path parquetFolder, Path out) throws IOException {
    checkArgument(parquetFolder != null && Files.isDirectory(parquetFolder),
        "parquet: expected a folder of Parquet files, found %s", parquetFolder);
    checkArgument(out != null, "out: expected a folder, found null");
    List<Path> files = new ArrayList<>();
    try (DirectoryStream<Path> s = Files.newDirectoryStream(parquetFolder, "*.parquet")) {
      for (Path p : s) {
        String n = p.getFileName().toString();
        if (!n.startsWith("_") && !n.startsWith(".") && Files.isRegularFile(p)) {
          files.add(p);
        }
      }
    }
    checkArgument(!files.isEmpty(), "parquet %s: expected *.parquet files, found none", parquetFolder);
    files.sort(Comparator.naturalOrder());
    Files.createDirectories(out);
    Configuration conf = new Configuration(false);
    record Line(String id, String caption, int index) {}
    Map<String, Line> seen = new HashMap<>();
    long written = 0;
    for (Path f : files) {
      try (ParquetReader<Group> reader = ParquetReader.builder(new GroupReadSupport(),
          new org.apache.hadoop.fs.Path(f.toUri())).withConf(conf).build()) {
        Group g;
        while ((g = reader.read()) != null) {
          GroupType t = g.getType();
          String id = captionId(f, g, t);
          checkArgument(CaptionList.isSafeId(id), "%s: caption_id: expected letters, digits, '.', '_' or '-' "
              + "(it names a folder), found \"%s\"", f, id);
          String caption = field(f, t, "caption", PrimitiveType.PrimitiveTypeName.BINARY) ? g.getString("caption", 0)
              : null;
          field(f, t, "index", PrimitiveType.PrimitiveTypeName.INT32);
          field(f, t, "png", PrimitiveType.PrimitiveTypeName.BINARY);
          int index = g.getInteger("index", 0);
          checkArgument(index >= 0, "%s: index: expected >= 0, found %s for caption %s", f, index, id);
          Line line = new Line(id, caption, index);
          Line had = seen.putIfAbsent(id + "/" + index, line);
          checkArgument(had == null, "%s: expected one row per (caption_id, index), found %s/%s again", f, id, index);
          Path dir = Files.createDirectories(out.resolve(id));
          Path png = dir.resolve(index + ".png");
          if (!Files.isRegularFile(png)) {
            AtomicFiles.writeBytes(png, g.getBinary("png", 0).getBytes());
            written++;
          }
        }
      }
    }
    List<Line> lines = new ArrayList<>(seen.values());
    boolean numeric = lines.stream().allMatch(l -> l.id().matches("[0-9]{1,18}"));
    Comparator<Line> byId = numeric ? Comparator.comparingLong(l -> Long.parseLong(l.id()))
        : Comparator.comparing(Line::id);
    lines.sort(byId.thenComparingInt(Line::index));
    StringBuilder text = new StringBuilder(CaptionManifest.HEADER_TEXT).append('\n');
    for (Line l : lines) {
      text.append(CaptionManifest.line(l.id(), l.caption(), l.id() + "/" + l.index() + ".png"));
    }
    Path manifest = out.resolve(MANIFEST);
    AtomicFiles.writeString(manifest, text);
    int captions = (int) lines.stream().map(Line::id).distinct().count();
    return new Result(captions, lines.size(), written, manifest);
  }

  /** {@link #toFolders} and then the {@code CaptionDataset} the trainer reads. */
  public static CaptionDataset read(Path parquetFolder, Path out) throws IOException {
    return CaptionDataset.fromManifest(toFolders(parquetFolder, out).manifest());
  }

  private static String captionId(Path f, Group g, GroupType t) {
    checkArgument(t.containsField("caption_id"), "%s: expected a column caption_id, found %s", f, names(t));
    Type ft = t.getType("caption_id");
    checkArgument(ft.isPrimitive(), "%s: caption_id: expected a string or integer, found %s", f, ft);
    return switch (ft.asPrimitiveType().getPrimitiveTypeName()) {
      case BINARY -> g.getString("caption_id", 0);
      case INT32 -> Integer.toString(g.getInteger("caption_id", 0));
      case INT64 -> Long.toString(g.getLong("caption_id", 0));
      default -> throw new IllegalArgumentException(f + ": caption_id: expected a string or integer, found " + ft);
    };
  }

  private static boolean field(Path f, GroupType t, String name, PrimitiveType.PrimitiveTypeName type) {
    checkArgument(t.containsField(name), "%s: expected a column %s, found %s", f, name, names(t));
    Type ft = t.getType(name);
    checkArgument(ft.isPrimitive() && ft.asPrimitiveType().getPrimitiveTypeName() == type,
        "%s: %s: expected %s, found %s", f, name, type, ft);
    return true;
  }

  private static List<String> names(GroupType t) {
    return Arrays.asList(t.getFields().stream().map(Type::getName).toArray(String[]::new));
  }
}
