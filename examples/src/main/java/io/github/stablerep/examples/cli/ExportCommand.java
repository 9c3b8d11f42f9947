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
      "The head count and LayerNorm epsilon are not visible in the weights' shapes: they come from"
          + " the checkpoint's metadata (vit.heads, vit.layer_norm_eps) unless given here."
    })
final class ExportCommand extends CliCommand {

  @Option(names = "--checkpoint", required = true, paramLabel = "FILE",
      description = "A training checkpoint (safetensors written by 'pretrain' / TrainingCheckpoint).")
  Path checkpoint;

  @Option(names = "--out", required = true, paramLabel = "FILE", description = "The safetensors file to write.")
  Path outFile;

  @Option(names = "--prefix", paramLabel = "NAME",
      description = "The ViT's variable prefix in the checkpoint (default: the only ViT found).")
  String prefix;

  @Option(names = "--heads", paramLabel = "N",
      description = "Attention heads (default: the checkpoint's metadata, else width / 64).")
  Integer heads;

  @Option(names = "--layer-norm-eps", paramLabel = "EPS",
      description = "LayerNorm epsilon (default: the checkpoint's metadata, else 1e-6).")
  Double eps;

  @Override
  public Integer call() throws Exception {
    existingFile("--checkpoint", checkpoint);
    Encoders.TimmWeights w = Encoders.fromCheckpoint(checkpoint, prefix, heads, eps);
    VisionTransformer vit = w.vit();
    Map<String, String> meta = Encoders.metadata(vit);
    SafeTensors.write(outputFile("--out", outFile), w.weights(), meta);
    long params = w.weights().values().stream().mapToLong(a -> a.length()).sum();
    out.printf("export: %s (%d tensors, %,d parameters, %s) -> %s%n", meta.get("architecture"), w.weights().size(),
        params, meta.get("timm_kwargs"), outFile);
    return 0;
  }
}
