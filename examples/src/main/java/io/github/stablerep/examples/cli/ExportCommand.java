package io.github.stablerep.examples.cli;

import io.github.stablerep.core.io.SafeTensors;
import io.github.stablerep.models.vit.VisionTransformer;
import java.nio.file.Path;
import java.util.Map;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/** A training checkpoint's ViT to timm-layout safetensors. */
@Command(
    name = "export",
    description = {
      "Export the ViT encoder of a training checkpoint (from 'pretrain') as timm-layout safetensors"
          + " that PyTorch loads: timm.models.vision_transformer.VisionTransformer(**kwargs)"
          + ".load_state_dict(safetensors.torch.load_file(OUT)), with kwargs the JSON in the file's"
          + " metadata entry 'timm_kwargs' (the projection head and optimiser state are left out).",
      "The ViT's configuration comes from the checkpoint (metadata config.<name>) and is written to the"
          + " export's metadata entry 'config.vit'. Checkpoints written before configs were stored need it"
          + " once, with --config."
    })
final class ExportCommand extends CliCommand {

  @Option(names = "--checkpoint", required = true, paramLabel = "FILE",
      description = "A training checkpoint (safetensors written by 'pretrain' / TrainingCheckpoint).")
  Path checkpoint;

  @Option(names = "--out", required = true, paramLabel = "FILE", description = "The safetensors file to write.")
  Path outFile;

  @Option(names = "--prefix", paramLabel = "NAME",
      description = "The ViT's name in the checkpoint (default: the only ViT found).")
  String prefix;

  @Option(names = "--config", paramLabel = "FILE",
      description = "Legacy checkpoints only (those that store no config): the ViT's config JSON, as"
          + " VisionTransformer.toConfig() writes it; absent fields take the defaults.")
  Path config;

  @Override
  public Integer call() throws Exception {
    existingFile("--checkpoint", checkpoint);
    Encoders.TimmWeights w = Encoders.fromCheckpoint(checkpoint, prefix, readConfig("--config", config));
    VisionTransformer vit = w.vit();
    Map<String, String> meta = Encoders.metadata(vit);
    SafeTensors.write(outputFile("--out", outFile), w.weights(), meta);
    long params = w.weights().values().stream().mapToLong(a -> a.length()).sum();
    out.printf("export: %s (%d tensors, %,d parameters, %s) -> %s%n", meta.get("architecture"), w.weights().size(),
        params, meta.get("timm_kwargs"), outFile);
    return 0;
  }
}
