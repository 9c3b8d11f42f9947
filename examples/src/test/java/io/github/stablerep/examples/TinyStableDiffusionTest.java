package io.github.stablerep.examples;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.github.stablerep.core.io.SafeTensors;
import io.github.stablerep.models.diffusion.StableDiffusionPipeline;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;

/** The shipped generator: its folder, its caption vocabulary, and what a broken copy says. */
class TinyStableDiffusionTest {

  @TempDir
  Path tmp;

  @Test
  void theFolderHoldsEveryFileWithItsLicence() {
    Path folder = TinyStableDiffusion.folder(tmp);
    for (String f : TinyStableDiffusion.FILES) {
      assertThat(folder.resolve(f)).as(f).isRegularFile();
    }
    assertThat(folder.resolve("LICENSE")).content().contains("MIT License").contains("Zalando").contains("OpenAI");
  }

  @Test
  void captionsCoverTheVocabulary() {
    List<TinyStableDiffusion.Caption> all = TinyStableDiffusion.captions(9);
    assertThat(all).hasSize(90);
    assertThat(all.stream().map(TinyStableDiffusion.Caption::text).distinct().count()).isEqualTo(90);
    assertThat(all.stream().map(TinyStableDiffusion.Caption::id).distinct().count()).isEqualTo(90);
    assertThat(all.get(0).text()).isEqualTo("a photo of a small dark t-shirt");
    assertThat(all.get(1).text()).isEqualTo("a product photo of a small grey t-shirt");
    assertThat(all.get(89).text()).isEqualTo("a picture of a large light ankle boot");
    for (TinyStableDiffusion.Caption c : all) {
      assertThat(c.text()).endsWith(TinyStableDiffusion.CLASSES.get(c.label()));
    }
    List<TinyStableDiffusion.Caption> two = TinyStableDiffusion.captions(2);
    assertThat(two).hasSize(20);
    for (String word : List.of(" small ", " medium ", " large ", " dark ", " grey ", " light ")) {
      assertThat(two).as("a partial set still varies the size and brightness words").anyMatch(c -> c.text()
          .contains(word));
    }
    assertThatThrownBy(() -> TinyStableDiffusion.captions(10)).hasMessageContaining("perClass");
  }

  /** Copies the shipped folder so that a test can break it. */
  private Path copy() throws Exception {
    Path src = TinyStableDiffusion.folder(tmp.resolve("cache"));
    Path dst = tmp.resolve("copy");
    for (String f : TinyStableDiffusion.FILES) {
      Files.createDirectories(dst.resolve(f).getParent());
      Files.copy(src.resolve(f), dst.resolve(f));
    }
    return dst;
  }

  private static StableDiffusionPipeline.Builder pipeline(Path dir) {
    return StableDiffusionPipeline.builder().modelDirectory(dir).steps(2).height(0).width(0);
  }

  @Test
  void aFolderThatIsNotADiffusersFolderNamesWhatIsMissing() throws Exception {
    Path dir = copy();
    Files.delete(dir.resolve("unet/config.json"));
    Files.delete(dir.resolve("vae/diffusion_pytorch_model.safetensors"));
    assertThatThrownBy(() -> pipeline(dir).build()).isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("unet/config.json").hasMessageContaining("vae/diffusion_pytorch_model.safetensors");
    assertThatThrownBy(() -> pipeline(tmp.resolve("nothing-here")).build()).hasMessageContaining("nothing-here");
  }

  @Test
  void weightsOfTheWrongShapeOrTypeNameTheFileAndTheKey() throws Exception {
    Path dir = copy();
    Path unet = dir.resolve("unet/diffusion_pytorch_model.safetensors");
    Map<String, INDArray> w = new HashMap<>(SafeTensors.read(unet));
    w.put("conv_in.weight", Nd4j.zeros(DataType.FLOAT, 48, 4, 5, 5));
    SafeTensors.write(unet, w, Map.of());
    assertThatThrownBy(() -> pipeline(dir).build()).hasMessageContaining(unet.toString())
        .hasMessageContaining("conv_in.weight").hasMessageContaining("[48, 4, 3, 3]");

    Path dir2 = tmp.resolve("copy2");
    Files.move(dir, dir2);
    Path vae = dir2.resolve("vae/diffusion_pytorch_model.safetensors");
    Files.copy(TinyStableDiffusion.folder(tmp.resolve("cache")).resolve("unet/diffusion_pytorch_model.safetensors"),
        dir2.resolve("unet/diffusion_pytorch_model.safetensors"), StandardCopyOption.REPLACE_EXISTING);
    Map<String, INDArray> v = new HashMap<>(SafeTensors.read(vae));
    String key = "decoder.conv_out.bias";
    v.put(key, v.get(key).castTo(DataType.INT32));
    SafeTensors.write(vae, v, Map.of());
    assertThatThrownBy(() -> pipeline(dir2).build()).hasMessageContaining(vae.toString()).hasMessageContaining(key)
        .hasMessageContaining("INT");
  }
}
