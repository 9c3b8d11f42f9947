package io.github.stablerep.spark;

import io.github.stablerep.models.diffusion.SchedulerType;
import io.github.stablerep.models.diffusion.StableDiffusionPipeline;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;

/**
 * The models an executor JVM holds: built once on first use and reused by every task and
 * partition that asks with the same settings. Loading a Stable Diffusion pipeline costs seconds
 * to minutes and gigabytes; a task per partition must not pay it again. One model of each kind
 * is kept; asking with other settings replaces it.
 */
final class ExecutorModels {

  private static final AtomicLong PIPELINE_LOADS = new AtomicLong();
  private static final AtomicLong ENCODER_LOADS = new AtomicLong();
  private static String pipelineKey;
  private static StableDiffusionPipeline pipeline;
  private static String encoderKey;
  private static Object encoder;

  private ExecutorModels() {}

  /** Pipelines built in this JVM so far (tests check reuse with it). */
  static long pipelineLoads() {
    return PIPELINE_LOADS.get();
  }

  /** Encoders built in this JVM so far. */
  static long encoderLoads() {
    return ENCODER_LOADS.get();
  }

  static synchronized StableDiffusionPipeline pipeline(String model, SchedulerType scheduler, int steps,
      double guidance, int height, int width) {
    String key = model + "|" + scheduler + "|" + steps + "|" + guidance + "|" + height + "x" + width;
    if (!key.equals(pipelineKey)) {
      pipeline = null; // let the old one go before the new one is allocated
      pipeline = StableDiffusionPipeline.builder().modelDirectory(ExecutorFiles.resolve(model)).scheduler(scheduler)
          .steps(steps).guidanceScale(guidance).height(height).width(width).build();
      pipelineKey = key;
      PIPELINE_LOADS.incrementAndGet();
    }
    return pipeline;
  }

  @SuppressWarnings("unchecked")
  static synchronized <T> T encoder(String key, Supplier<T> load) {
    if (!key.equals(encoderKey)) {
      encoder = null;
      encoder = load.get();
      encoderKey = key;
      ENCODER_LOADS.incrementAndGet();
    }
    return (T) encoder;
  }
}
