package io.github.stablerep.examples;

import static com.google.common.base.Preconditions.checkArgument;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The trained miniature Stable Diffusion shipped with the examples ({@code tiny-sd-fmnist}: a
 * CLIP-style text encoder, a UNet2DConditionModel and an AutoencoderKL in diffusers' folder layout,
 * on SD v1.5's noise schedule; MIT, see its README.md and LICENSE). It draws 32×32 Fashion-MNIST-like
 * images, the 28×28 content padded by 2 black pixels, from captions of the form
 * {@code "<template> <size> <brightness> <class>"}, e.g. "a photo of a large dark coat".
 *
 * <p>{@link #folder(Path)} gives a folder that {@code StableDiffusionPipeline.builder().modelDirectory}
 * reads: the resources themselves when they are files (a build tree), otherwise a copy extracted
 * from the jar into a cache folder, written under a temporary name and renamed when complete.
 */
public final class TinyStableDiffusion {

  /** Where the model lies on the classpath. */
  public static final String RESOURCE = "/io/github/stablerep/examples/tiny-sd-fmnist/";
  /** Every file of the folder, relative to it. */
  static final List<String> FILES = List.of("README.md", "LICENSE", "model_index.json",
      "scheduler/scheduler_config.json", "tokenizer/vocab.json", "tokenizer/merges.txt",
      "tokenizer/tokenizer_config.json", "text_encoder/config.json", "text_encoder/model.safetensors",
      "unet/config.json", "unet/diffusion_pytorch_model.safetensors", "vae/config.json",
      "vae/diffusion_pytorch_model.safetensors");

  /** The caption templates it was trained on. */
  public static final List<String> TEMPLATES = List.of("a photo of a", "a product photo of a", "a picture of a");
  /** Size words, small to large (terciles of the class's foreground area). */
  public static final List<String> SIZES = List.of("small", "medium", "large");
  /** Brightness words, dark to light (terciles of the class's foreground brightness). */
  public static final List<String> BRIGHTNESS = List.of("dark", "grey", "light");
  /** The class nouns, in Fashion-MNIST's label order. */
  public static final List<String> CLASSES = List.of("t-shirt", "pair of trousers", "pullover", "dress", "coat",
      "sandal", "shirt", "sneaker", "bag", "ankle boot");
  /** Generated side in pixels, and the side of the content inside its black border. */
  public static final int GENERATED_SIZE = 32;
  public static final int CONTENT_SIZE = 28;

  private TinyStableDiffusion() {}

  /**
   * One caption, with the class it names and, for the model's vocabulary, the indices of its size
   * and brightness words in {@link #SIZES} and {@link #BRIGHTNESS} (-1 for captions without them).
   */
  public record Caption(String id, String text, int label, int size, int brightness) {}

  /**
   * Captions from the model's vocabulary: every (class, size, brightness) combination in label,
   * size, brightness order, each in one of the three templates in turn, so all templates occur.
   * {@code perClass} below 9 takes that many combinations per class, spread over sizes and
   * brightness words.
   */
  public static List<Caption> captions(int perClass) {
    checkArgument(perClass >= 1 && perClass <= SIZES.size() * BRIGHTNESS.size(),
        "perClass: expected 1 to %s, found %s", SIZES.size() * BRIGHTNESS.size(), perClass);
    List<Caption> out = new ArrayList<>();
    int combos = SIZES.size() * BRIGHTNESS.size();
    for (int c = 0; c < CLASSES.size(); c++) {
      for (int i = 0; i < perClass; i++) {
        // spread a partial set over the 3 x 3 grid: i-th of perClass evenly spaced combinations,
        // shifted by class so that every combination occurs across classes
        int combo = perClass == combos ? i : (i * combos / perClass + c) % combos;
        String size = SIZES.get(combo / BRIGHTNESS.size());
        String brightness = BRIGHTNESS.get(combo % BRIGHTNESS.size());
        String template = TEMPLATES.get(out.size() % TEMPLATES.size());
        String noun = CLASSES.get(c);
        out.add(new Caption("c" + c + "-" + size + "-" + brightness, template + " " + size + " " + brightness + " "
            + noun, c, combo / BRIGHTNESS.size(), combo % BRIGHTNESS.size()));
      }
    }
    return out;
  }

  /**
   * A folder holding the model. When the classpath has it as files (running from a build tree)
   * that folder is returned as it is; from a jar it is extracted once into {@code cache} (a
   * complete earlier extraction is reused).
   */
  public static Path folder(Path cache) {
    URL index = TinyStableDiffusion.class.getResource(RESOURCE + "model_index.json");
    checkArgument(index != null, "classpath: expected %s (the stablerep-examples jar), found nothing there", RESOURCE);
    try {
      if (index.getProtocol().toLowerCase(Locale.ROOT).equals("file")) {
        return Path.of(index.toURI()).getParent();
      }
      Path target = cache.resolve("tiny-sd-fmnist");
      if (Files.isDirectory(target)) {
        return target;
      }
      Files.createDirectories(cache);
      Path tmp = Files.createTempDirectory(cache, ".tiny-sd-fmnist");
      try {
        for (String f : FILES) {
          Path to = tmp.resolve(f);
          Files.createDirectories(to.getParent());
          try (InputStream in = TinyStableDiffusion.class.getResourceAsStream(RESOURCE + f)) {
            checkArgument(in != null, "classpath: expected %s%s, found nothing there", RESOURCE, f);
            Files.copy(in, to);
          }
        }
        Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE);
      } finally {
        Folders.deleteTree(tmp);
      }
      return target;
    } catch (IOException e) {
      throw new UncheckedIOException("tiny-sd-fmnist: cannot extract into " + cache + ": " + e.getMessage(), e);
    } catch (URISyntaxException e) {
      throw new IllegalStateException("classpath: " + index + " is not a file URI", e);
    }
  }
}
