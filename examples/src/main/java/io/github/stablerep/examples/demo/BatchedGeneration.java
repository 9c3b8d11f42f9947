package io.github.stablerep.examples.demo;

import static com.google.common.base.Preconditions.checkArgument;

import io.github.stablerep.models.diffusion.DiffusersConfig;
import io.github.stablerep.models.diffusion.Scheduler;
import io.github.stablerep.models.diffusion.StableDiffusionPipeline;
import java.util.ArrayList;
import java.util.List;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * One image per caption, all captions sampled together: every denoising step is a single UNet
 * evaluation over all rows (with classifier-free guidance, the negative prompt's rows and the
 * captions' rows), where {@link StableDiffusionPipeline#generate(String, int, long)} takes one
 * caption per call. For a tiny model the cost of a UNet call hardly depends on its batch, so 30
 * captions cost about what one does.
 *
 * <p>Same sampler as the pipeline with its settings (scheduler, steps, guidance scale, negative
 * prompt); eta must be 0 (deterministic). The initial latents are {@code
 * pipeline.initialLatents(seed, captions.size())}: row i of the result is what {@code
 * pipeline.generate(captions.get(i), row i of those latents)} gives, up to floating-point
 * summation order.
 */
public final class BatchedGeneration {

  private BatchedGeneration() {}

  /**
   * @param captions one caption per image (repeats allowed)
   * @return {@code [N, 3, height, width]} float in [0, 1], row i for caption i
   * @throws IllegalArgumentException if {@code captions} is empty or the pipeline's eta is not 0
   */
  public static INDArray generate(StableDiffusionPipeline pipeline, List<String> captions, long seed) {
    checkArgument(pipeline != null, "pipeline: expected a StableDiffusionPipeline, found null");
    checkArgument(captions != null && !captions.isEmpty(), "captions: expected at least one caption, found %s",
        captions == null ? null : "none");
    checkArgument(pipeline.eta() == 0, "pipeline.eta: expected 0 (deterministic DDIM), found %s", pipeline.eta());
    int n = captions.size();
    boolean guided = pipeline.guidanceScale() > 1.0;
    List<String> texts = new ArrayList<>();
    if (guided) {
      texts.add(pipeline.negativePrompt());
    }
    texts.addAll(captions);
    INDArray states = pipeline.encodePrompts(texts);
    INDArray context = guided
        ? Nd4j.concat(0, states.get(NDArrayIndex.interval(0, 1)).repeat(0, n), states.get(NDArrayIndex.interval(1, n + 1)))
        : states;

    Scheduler scheduler = Scheduler.create(pipeline.scheduler(),
        DiffusersConfig.read(pipeline.modelDirectory().resolve("scheduler/scheduler_config.json")));
    scheduler.setTimesteps(pipeline.steps());
    long[] timesteps = scheduler.timesteps();
    double[] modelTimesteps = scheduler.modelTimesteps();
    INDArray x = pipeline.initialLatents(seed, n).mul(scheduler.initNoiseSigma());
    for (int i = 0; i < timesteps.length; i++) {
      INDArray input = scheduler.scaleModelInput(x, timesteps[i]);
      INDArray eps;
      if (guided) {
        INDArray both = pipeline.predictNoise(Nd4j.concat(0, input, input), modelTimesteps[i], context);
        INDArray uncond = both.get(NDArrayIndex.interval(0, n));
        INDArray cond = both.get(NDArrayIndex.interval(n, 2 * n));
        eps = uncond.add(cond.sub(uncond).muli(pipeline.guidanceScale()));
      } else {
        eps = pipeline.predictNoise(input, modelTimesteps[i], context);
      }
      x = scheduler.step(eps, timesteps[i], x);
    }
    return pipeline.decode(x);
  }
}
