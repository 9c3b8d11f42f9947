package io.github.stablerep.models.diffusion;

import static com.google.common.base.Preconditions.checkArgument;

import com.google.common.base.Throwables;
import io.github.stablerep.core.io.SafeTensors;
import io.github.stablerep.core.train.SessionMemory;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CancellationException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.nd4j.autodiff.samediff.SDVariable;
import org.nd4j.autodiff.samediff.SameDiff;
import org.nd4j.linalg.api.buffer.DataType;
import org.nd4j.linalg.api.ndarray.INDArray;
import org.nd4j.linalg.factory.Nd4j;
import org.nd4j.linalg.indexing.NDArrayIndex;

/**
 * Text-to-image sampling with Stable Diffusion, as diffusers' {@code StableDiffusionPipeline}
 * (v0.21) without the safety checker: CLIP tokenizer and text encoder, UNet with
 * classifier-free guidance, a scheduler, and the VAE decoder.
 *
 * <pre>{@code
 * StableDiffusionPipeline sd = StableDiffusionPipeline.builder().modelDirectory(sd15Folder).build();
 * List<INDArray> images = sd.generate("a photo of a cat", 10, 42L);   // each [3, 512, 512] in [0, 1]
 * }</pre>
 *
 * <p>Each step runs the UNet once on the unconditional and conditional halves stacked into one
 * batch ({@code [2N, 4, h, w]}, unconditional first), and combines them as
 * {@code eps_u + w·(eps_c − eps_u)}. As in diffusers ({@code do_classifier_free_guidance = w > 1}),
 * any {@code w <= 1} turns guidance off: the conditional prediction is used alone and the
 * unconditional half is not computed at all. The negative prompt defaults to the empty string, as diffusers' does.
 *
 * <p>The three SameDiff graphs (text encoder, UNet, VAE decoder + {@code (x/2 + 0.5).clamp(0, 1)})
 * are built and loaded once in {@link Builder#build()} and reused by every call. Calls are
 * serialised ({@code synchronized}): a pipeline may be shared between threads, but runs one
 * generation at a time. Each call makes a fresh scheduler, so calls never share sampler state.
 *
 * <p>Cancellation: a {@link Progress} whose {@link Progress#isCancelled()} turns true stops the
 * call before its next step (or before decoding), and the call throws {@link
 * CancellationException}; nothing is returned and the pipeline stays usable.
 */
public final class StableDiffusionPipeline {

  /** Per-call observer: a callback after each denoising step and a cancellation flag. */
  public interface Progress {
    /** After step {@code completed} (1-based) of {@code total}, at scheduler timestep {@code timestep}. */
    default void onStep(int completed, int total, long timestep) {}

    /** Polled before every step and before decoding; {@code true} ends the call with {@link CancellationException}. */
    default boolean isCancelled() {
      return false;
    }

    /** No callback, never cancelled. */
    Progress NONE = new Progress() {};
  }

  static final String TEXT_WEIGHTS = "model.safetensors";
  static final String TEXT_WEIGHTS_FP16 = "model.fp16.safetensors";

  private final Path modelDirectory;
  private final SchedulerType schedulerType;
  private final int steps;
  private final double guidanceScale;
  private final double eta;
  private final int height;
  private final int width;
  private final String negativePrompt;

  private final ClipTokenizer tokenizer;
  private final DiffusersConfig schedulerConfig;
  private final int latentChannels;
  private final int latentHeight;
  private final int latentWidth;
  private final int contextLength;

  private final int lanes;
  private final SameDiff textGraph;
  private final String textOut;
  /** One UNet graph per lane: lane 1 runs its half of a batch on {@link #LANE_THREADS}. */
  private final SameDiff[] unetGraphs;
  private final String[] unetOuts;
  private final SameDiff vaeGraph;
  private final String vaeOut;

  private StableDiffusionPipeline(Builder b, Components c) {
    this.modelDirectory = b.modelDirectory;
    this.schedulerType = b.schedulerType;
    this.steps = b.steps;
    this.guidanceScale = b.guidanceScale;
    this.eta = b.eta;
    this.height = c.height;
    this.width = c.width;
    this.negativePrompt = b.negativePrompt;
    this.tokenizer = c.tokenizer;
    this.schedulerConfig = c.schedulerConfig;
    this.latentChannels = c.vae.latentChannels();
    this.latentHeight = c.height / c.vae.downsamplingFactor();
    this.latentWidth = c.width / c.vae.downsamplingFactor();
    this.contextLength = tokenizer.contextLength();

    textGraph = SameDiff.create();
    ClipTextEncoderGraph tg =
        c.textEncoder.define(textGraph, textGraph.placeHolder("input_ids", DataType.INT, -1, contextLength),
            c.textWeights);
    textOut = tg.lastHiddenState().name();

    this.lanes = b.lanes;
    unetGraphs = new SameDiff[lanes];
    unetOuts = new String[lanes];
    for (int i = 0; i < lanes; i++) {
      // the graphs share the weight arrays: ModuleParams wraps the loaded arrays without copying
      SameDiff g = SameDiff.create();
      SDVariable sample = g.placeHolder("sample", DataType.FLOAT, -1, c.unet.inChannels(), -1, -1);
      SDVariable timestep = g.placeHolder("timestep", DataType.FLOAT, -1);
      SDVariable context = g.placeHolder("context", DataType.FLOAT, -1, contextLength, c.textEncoder.hiddenSize());
      unetOuts[i] = c.unet.defineForInference(g, sample, timestep, context, latentHeight, latentWidth).name();
      unetGraphs[i] = g;
    }

    vaeGraph = SameDiff.create();
    SDVariable latents = vaeGraph.placeHolder("latents", DataType.FLOAT, -1, latentChannels, -1, -1);
    SDVariable decoded = c.vae.defineDecodeScaled(vaeGraph, latents);
    vaeOut = vaeGraph.math.clipByValue(decoded.mul(0.5).add(0.5), 0.0, 1.0).name();
  }

  /** Defaults are StableRep's sampler: DDIM, 50 steps, guidance 2.0, eta 0, 512×512, empty negative prompt. */
  public static Builder builder() {
    return new Builder();
  }

  public Builder toBuilder() {
    return new Builder().modelDirectory(modelDirectory).scheduler(schedulerType).steps(steps)
        .guidanceScale(guidanceScale).eta(eta).height(height).width(width).negativePrompt(negativePrompt);
  }

  // ---------------------------------------------------------------- generation

  /**
   * {@code count} images of {@code prompt}. The initial latents {@code [count, 4, H/f, W/f]} are
   * drawn in C order from {@code new java.util.Random(seed).nextGaussian()} (see {@link
   * #initialLatents}), so the same seed gives the same images; with eta > 0 the same generator
   * then supplies DDIM's step noise.
   *
   * @return {@code count} images, each {@code [3, height, width]} float in [0, 1]
   */
  public List<INDArray> generate(String prompt, int count, long seed) {
    return generate(prompt, count, seed, Progress.NONE);
  }

  /** As {@link #generate(String, int, long)}, reporting each step to {@code progress}. */
  public List<INDArray> generate(String prompt, int count, long seed, Progress progress) {
    checkArgument(count >= 1, "count: expected at least 1 image, found %s", count);
    Random rng = new Random(seed);
    INDArray latents = initialLatents(rng, count);
    INDArray images = generate(prompt, negativePrompt, latents, rng, progress);
    List<INDArray> out = new ArrayList<>(count);
    for (int i = 0; i < count; i++) {
      out.add(images.get(NDArrayIndex.point(i), NDArrayIndex.all(), NDArrayIndex.all(), NDArrayIndex.all()).dup());
    }
    return out;
  }

  /**
   * Images from given initial latents {@code [N, 4, H/f, W/f]}: standard normal, before scaling by
   * the scheduler's initial sigma (deterministic; with eta > 0 the step noise comes from {@code
   * new Random(0)}).
   *
   * @return {@code [N, 3, height, width]} float in [0, 1]
   */
  public INDArray generate(String prompt, INDArray initialLatents) {
    return generate(prompt, negativePrompt, initialLatents, new Random(0), Progress.NONE);
  }

  /** As {@link #generate(String, INDArray)}, with a negative prompt and a progress observer. */
  public INDArray generate(String prompt, String negativePrompt, INDArray initialLatents, Progress progress) {
    return generate(prompt, negativePrompt, initialLatents, new Random(0), progress);
  }

  /**
   * Images of several prompts in one batch, one prompt per image: {@code prompts.get(i)} for the
   * initial latents {@code initialLatents[i]} ({@code [N, 4, H/f, W/f]}, standard normal, as in
   * {@link #generate(String, INDArray)}), all guided away from the pipeline's negative prompt.
   * Each distinct prompt is encoded once (and recently used prompts not at all, see {@link
   * #PROMPT_CACHE_SIZE}); the UNet then runs once per step on the whole stacked batch, which on a
   * CPU is much faster than one call per prompt because a SameDiff call has a large fixed cost.
   * Per image the result equals {@link #generate(String, String, INDArray, Progress)} of that
   * prompt on that image's latents, up to float rounding (the batch size can change kernels).
   *
   * @return {@code [N, 3, height, width]} float in [0, 1]
   */
  public INDArray generate(List<String> prompts, INDArray initialLatents, Progress progress) {
    checkArgument(prompts != null && !prompts.isEmpty(), "prompts: expected one prompt per image, found %s",
        prompts == null ? "null" : "an empty list");
    for (int i = 0; i < prompts.size(); i++) {
      checkArgument(prompts.get(i) != null, "prompts: expected strings, found null at index %s", i);
    }
    checkArgument(initialLatents == null || initialLatents.rank() < 1 || initialLatents.size(0) == prompts.size(),
        "prompts, initialLatents: expected one prompt per image, found %s prompts and %s images", (Object) prompts.size(),
        initialLatents == null ? "null" : initialLatents.size(0));
    return generate(prompts, negativePrompt, initialLatents, new Random(0), progress);
  }

  private synchronized INDArray generate(String prompt, String negative, INDArray initialLatents, Random rng,
      Progress progress) {
    checkArgument(prompt != null, "prompt: expected a string, found null");
    return generate(List.of(prompt), negative, initialLatents, rng, progress);
  }

  /** {@code prompts}: one per image, or one for all images. */
  private synchronized INDArray generate(List<String> prompts, String negative, INDArray initialLatents, Random rng,
      Progress progress) {
    checkArgument(negative != null, "negativePrompt: expected a string (\"\" for none), found null");
    checkArgument(progress != null, "progress: expected a Progress (Progress.NONE for none), found null");
    checkLatents(initialLatents);
    boolean guided = guidanceScale > 1.0;
    List<String> texts = new ArrayList<>(prompts);
    if (guided) {
      // without guidance only the prompts are encoded
      texts.add(negative);
    }
    Map<String, INDArray> states = cachedStates(texts);
    INDArray[] rows = new INDArray[prompts.size()];
    for (int i = 0; i < rows.length; i++) {
      rows[i] = states.get(prompts.get(i));
    }
    INDArray promptStates = rows.length == 1 ? rows[0] : Nd4j.concat(0, rows);
    return sample(guided ? states.get(negative) : null, promptStates, initialLatents, rng, progress);
  }

  /**
   * How many prompts' text-encoder states a pipeline keeps between calls (least recently used
   * dropped first): a dataset job asks for the same captions again and again, and for SD v1.5 one
   * entry is only 77 x 768 floats.
   */
  public static final int PROMPT_CACHE_SIZE = 256;

  private final Map<String, INDArray> promptCache = new LinkedHashMap<>(16, 0.75f, true) {
    @Override
    protected boolean removeEldestEntry(Map.Entry<String, INDArray> eldest) {
      return size() > PROMPT_CACHE_SIZE;
    }
  };

  /** Each distinct text's states {@code [1, L, D]}, encoding in one batch those not cached. */
  private Map<String, INDArray> cachedStates(List<String> texts) {
    Map<String, INDArray> out = new HashMap<>();
    List<String> missing = new ArrayList<>();
    for (String t : new LinkedHashSet<>(texts)) {
      INDArray s = promptCache.get(t);
      if (s == null) {
        missing.add(t);
      } else {
        out.put(t, s);
      }
    }
    if (!missing.isEmpty()) {
      INDArray encoded = encodePrompts(missing);
      for (int i = 0; i < missing.size(); i++) {
        INDArray s = encoded.get(NDArrayIndex.interval(i, i + 1), NDArrayIndex.all(), NDArrayIndex.all()).dup();
        promptCache.put(missing.get(i), s);
        out.put(missing.get(i), s);
      }
    }
    return out;
  }

  /**
   * Sampling from given text-encoder states instead of prompts (diffusers' {@code prompt_embeds}
   * and {@code negative_prompt_embeds}): {@code negativeStates} and {@code promptStates} are
   * {@code [1, L, D]}, shared by all N images, or {@code [N, L, D]}, one per image;
   * {@code negativeStates} is unused when the guidance scale is <= 1. Deterministic for eta 0
   * (else step noise from {@code new Random(0)}).
   *
   * @return {@code [N, 3, height, width]} float in [0, 1]
   */
  public synchronized INDArray generateFromEmbeddings(INDArray negativeStates, INDArray promptStates,
      INDArray initialLatents, Progress progress) {
    checkArgument(progress != null, "progress: expected a Progress (Progress.NONE for none), found null");
    checkLatents(initialLatents);
    long n = initialLatents.size(0);
    String[] names = {"negativeStates", "promptStates"};
    INDArray[] given = {negativeStates, promptStates};
    for (int i = 0; i < 2; i++) {
      INDArray a = given[i];
      checkArgument(a != null && a.rank() == 3 && (a.size(0) == 1 || a.size(0) == n) && a.size(1) == contextLength,
          "%s: expected shape [1, %s, D] or [%s, %s, D] (one per image), found %s", names[i], contextLength, n,
          contextLength, a == null ? "null" : java.util.Arrays.toString(a.shape()));
    }
    return sample(negativeStates, promptStates, initialLatents, new Random(0), progress);
  }

  /** {@code negativeStates}, {@code promptStates}: [1, L, D] for all images or [N, L, D]; negative null if unguided. */
  private INDArray sample(INDArray negativeStates, INDArray promptStates, INDArray initialLatents, Random rng,
      Progress progress) {
    int n = (int) initialLatents.size(0);
    boolean guided = guidanceScale > 1.0;
    INDArray negative = guided ? perImage(negativeStates, n) : null;
    INDArray positive = perImage(promptStates, n);
    // one lane: the two halves as one [2N] batch, unconditional first
    INDArray stacked = guided && lanes == 1 ? Nd4j.concat(0, negative, positive) : null;

    Scheduler scheduler = Scheduler.create(schedulerType, schedulerConfig);
    scheduler.setTimesteps(steps);
    long[] timesteps = scheduler.timesteps();
    double[] modelTimesteps = scheduler.modelTimesteps();
    INDArray x = initialLatents.castTo(DataType.FLOAT).mul(scheduler.initNoiseSigma());
    // eta > 0 only with DDIM (checked by the builder); its noise comes from the seed's generator
    StepOptions options = eta > 0 ? StepOptions.eta(eta, rng) : StepOptions.DETERMINISTIC;
    for (int i = 0; i < timesteps.length; i++) {
      checkCancelled(progress, i, timesteps.length);
      INDArray input = scheduler.scaleModelInput(x, timesteps[i]);
      INDArray eps;
      if (guided) {
        INDArray uncond;
        INDArray cond;
        if (lanes == 1) {
          INDArray both = predictNoise(0, Nd4j.concat(0, input, input), modelTimesteps[i], stacked);
          uncond = both.get(NDArrayIndex.interval(0, n));
          cond = both.get(NDArrayIndex.interval(n, 2 * n));
        } else {
          INDArray[] halves = predictOnTwoLanes(modelTimesteps[i], input, negative, input, positive);
          uncond = halves[0];
          cond = halves[1];
        }
        eps = uncond.add(cond.sub(uncond).muli(guidanceScale));
      } else {
        eps = predictNoise(input, modelTimesteps[i], positive);
      }
      x = scheduler.step(eps, timesteps[i], x, options).prevSample();
      progress.onStep(i + 1, timesteps.length, timesteps[i]);
    }
    checkCancelled(progress, timesteps.length, timesteps.length);
    return decode(x);
  }

  private static void checkCancelled(Progress progress, int done, int total) {
    if (progress.isCancelled()) {
      throw new CancellationException("generation cancelled after " + done + " of " + total + " steps");
    }
  }

  /** {@code states} [1, L, D] repeated for n images, or [n, L, D] as given. */
  private static INDArray perImage(INDArray states, int n) {
    if (states.size(0) == n && n > 1) {
      return states.castTo(DataType.FLOAT);
    }
    // a copy, so that no call hands the graph a cached array
    INDArray one = states.get(NDArrayIndex.interval(0, 1), NDArrayIndex.all(), NDArrayIndex.all());
    return n == 1 ? one.castTo(DataType.FLOAT).dup() : one.repeat(0, n);
  }

  private void checkLatents(INDArray latents) {
    checkArgument(latents != null && latents.rank() == 4 && latents.size(0) >= 1
            && latents.size(1) == latentChannels && latents.size(2) == latentHeight && latents.size(3) == latentWidth,
        "initialLatents: expected shape [N, %s, %s, %s] (N >= 1), found %s", latentChannels, latentHeight,
        latentWidth, latents == null ? "null" : java.util.Arrays.toString(latents.shape()));
  }

  // ---------------------------------------------------------------- the pieces, for tests and custom loops

  /** The text encoder's last hidden state for each text (tokenised, padded to the context length): [N, L, D]. */
  public synchronized INDArray encodePrompts(List<String> texts) {
    checkArgument(texts != null && !texts.isEmpty(), "texts: expected at least one string, found %s", texts);
    INDArray ids = tokenizer.tokenize(texts);
    return run(textGraph, Map.of("input_ids", ids), textOut);
  }

  /** One UNet evaluation: {@code sample} [N, 4, h, w], one timestep for the whole batch, {@code textStates} [N, L, D]. */
  public synchronized INDArray predictNoise(INDArray sample, double timestep, INDArray textStates) {
    checkArgument(sample != null && textStates != null && sample.rank() == 4 && textStates.rank() == 3
            && sample.size(0) == textStates.size(0),
        "sample, textStates: expected [N, C, h, w] and [N, L, D] with equal N, found %s and %s",
        sample == null ? "null" : java.util.Arrays.toString(sample.shape()),
        textStates == null ? "null" : java.util.Arrays.toString(textStates.shape()));
    INDArray x = sample.castTo(DataType.FLOAT);
    INDArray states = textStates.castTo(DataType.FLOAT);
    long n = x.size(0);
    if (lanes == 1 || n < 2) {
      return predictNoise(0, x, timestep, states);
    }
    long half = n / 2;
    return Nd4j.concat(0, predictOnTwoLanes(timestep, rows(x, 0, half), rows(states, 0, half), rows(x, half, n),
        rows(states, half, n)));
  }

  /** The noise predictions of two parts of one UNet batch, the second on the lane thread while the first runs here. */
  private INDArray[] predictOnTwoLanes(double timestep, INDArray x0, INDArray states0, INDArray x1, INDArray states1) {
    Future<INDArray> second = LANE_THREADS.submit(() -> predictNoise(1, x1, timestep, states1));
    INDArray first = predictNoise(0, x0, timestep, states0);
    try {
      return new INDArray[] {first, second.get()};
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      throw new CancellationException("interrupted while the UNet's second lane ran");
    } catch (ExecutionException e) {
      Throwables.throwIfUnchecked(e.getCause());
      throw new IllegalStateException("the UNet's second lane failed", e.getCause());
    }
  }

  private INDArray predictNoise(int lane, INDArray x, double timestep, INDArray states) {
    INDArray t = Nd4j.valueArrayOf(new long[] {x.size(0)}, timestep, DataType.FLOAT);
    return run(unetGraphs[lane], Map.of("sample", x, "timestep", t, "context", states), unetOuts[lane]);
  }

  private static INDArray rows(INDArray a, long from, long to) {
    return a.get(NDArrayIndex.interval(from, to)).dup('c');
  }

  /**
   * The thread that runs the second lane's share of a UNet batch, for every pipeline (each
   * pipeline's calls are serialised anyway); a daemon, so that it never keeps a JVM alive.
   */
  private static final ExecutorService LANE_THREADS = Executors.newSingleThreadExecutor(r -> {
    Thread t = new Thread(r, "stablerep-unet-lane");
    t.setDaemon(true);
    return t;
  });

  /** VAE decoding of clean latents [N, 4, h, w]: {@code (decoder(latents / scale) / 2 + 0.5).clamp(0, 1)}. */
  public synchronized INDArray decode(INDArray latents) {
    checkArgument(latents != null && latents.rank() == 4 && latents.size(1) == latentChannels,
        "latents: expected shape [N, %s, h, w], found %s", latentChannels,
        latents == null ? "null" : java.util.Arrays.toString(latents.shape()));
    return run(vaeGraph, Map.of("latents", latents.castTo(DataType.FLOAT)), vaeOut);
  }

  /**
   * One graph call whose intermediate arrays come from the previous calls' buffers: SameDiff's
   * own cache matches exact shapes only, and every fresh buffer is page-faulted in again (UNet of
   * the tiny model at batch 128: about a quarter of the call). The session never releases the
   * arrays it returns, so a result stays intact across later calls.
   */
  private static INDArray run(SameDiff graph, Map<String, INDArray> feeds, String output) {
    SessionMemory.reuseBuffers(graph);
    return graph.output(feeds, output).get(output);
  }

  /** Standard-normal initial latents {@code [count, 4, H/f, W/f]}, drawn in C order from {@code new Random(seed)}. */
  public INDArray initialLatents(long seed, int count) {
    checkArgument(count >= 1, "count: expected at least 1, found %s", count);
    return initialLatents(new Random(seed), count);
  }

  private INDArray initialLatents(Random rng, int count) {
    float[] v = new float[Math.multiplyExact(count, latentChannels * latentHeight * latentWidth)];
    for (int i = 0; i < v.length; i++) {
      v[i] = (float) rng.nextGaussian();
    }
    return Nd4j.create(v, new long[] {count, latentChannels, latentHeight, latentWidth}, 'c');
  }

  // ---------------------------------------------------------------- accessors

  public Path modelDirectory() { return modelDirectory; }
  public SchedulerType scheduler() { return schedulerType; }
  public int steps() { return steps; }
  public double guidanceScale() { return guidanceScale; }
  public double eta() { return eta; }
  public int height() { return height; }
  public int width() { return width; }
  public String negativePrompt() { return negativePrompt; }
  /** The latent shape of one image: {@code [4, height/f, width/f]}. */
  public long[] latentShape() { return new long[] {latentChannels, latentHeight, latentWidth}; }

  @Override
  public String toString() {
    return "StableDiffusionPipeline{" + modelDirectory + ", " + schedulerType + " " + steps + " steps, guidance "
        + guidanceScale + ", eta " + eta + ", " + height + "x" + width + "}";
  }

  // ---------------------------------------------------------------- loading

  /** The loaded components of a diffusers folder. */
  private static final class Components {
    ClipTokenizer tokenizer;
    ClipTextEncoder textEncoder;
    Map<String, INDArray> textWeights;
    UNet2DConditionModel unet;
    AutoencoderKL vae;
    DiffusersConfig schedulerConfig;
    int height;
    int width;
  }

  /**
   * Every file a diffusers folder needs, checked before anything is read, so that one message
   * names all that is missing.
   */
  private static void checkLayout(Path dir) {
    checkArgument(Files.isDirectory(dir), "modelDirectory: expected a diffusers folder, found %s", dir
        + (Files.exists(dir) ? " (not a folder)" : " (missing)"));
    List<String> missing = new ArrayList<>();
    for (String f : List.of("model_index.json", "tokenizer/vocab.json", "tokenizer/merges.txt",
        "text_encoder/config.json", "unet/config.json", "vae/config.json", "scheduler/scheduler_config.json")) {
      if (!Files.isRegularFile(dir.resolve(f))) {
        missing.add(f);
      }
    }
    requireOneOf(dir, "text_encoder", TEXT_WEIGHTS, TEXT_WEIGHTS_FP16, missing);
    requireOneOf(dir, "unet", ModuleWeights.WEIGHTS, ModuleWeights.WEIGHTS_FP16, missing);
    requireOneOf(dir, "vae", ModuleWeights.WEIGHTS, ModuleWeights.WEIGHTS_FP16, missing);
    checkArgument(missing.isEmpty(), "modelDirectory %s: expected a diffusers Stable Diffusion folder, missing: %s",
        dir, String.join(", ", missing));
  }

  private static void requireOneOf(Path dir, String component, String file, String fp16, List<String> missing) {
    if (!Files.isRegularFile(dir.resolve(component).resolve(file))
        && !Files.isRegularFile(dir.resolve(component).resolve(fp16))) {
      missing.add(component + "/" + file + " (or " + fp16 + ")");
    }
  }

  private static Components load(Builder b) {
    Path dir = b.modelDirectory;
    checkLayout(dir);
    Components c = new Components();
    c.tokenizer = ClipTokenizer.fromDirectory(dir.resolve("tokenizer"));
    c.textEncoder = ClipTextEncoder.fromConfig(dir.resolve("text_encoder/config.json"));
    checkArgument(c.tokenizer.contextLength() <= c.textEncoder.maxPositions(),
        "tokenizer: expected a context length <= the text encoder's %s positions, found %s",
        c.textEncoder.maxPositions(), c.tokenizer.contextLength());
    c.textEncoder.checkTokenizer(c.tokenizer); // ids >= vocab_size would reach a native gather unchecked
    Path textFile = dir.resolve("text_encoder").resolve(TEXT_WEIGHTS);
    if (!Files.isRegularFile(textFile)) {
      textFile = dir.resolve("text_encoder").resolve(TEXT_WEIGHTS_FP16);
    }
    if (Files.isRegularFile(textFile)) {
      WeightStructure.checkTextEncoder(c.textEncoder, dir.resolve("text_encoder/config.json").toString(), textFile);
    }
    try {
      c.textWeights = SafeTensors.read(textFile);
    } catch (IOException e) {
      throw new UncheckedIOException("weights " + textFile + ": cannot be read", e);
    }
    c.unet = UNet2DConditionModel.fromPretrained(dir.resolve("unet"));
    c.vae = AutoencoderKL.fromPretrained(dir.resolve("vae"));
    checkArgument(c.unet.crossAttentionDim().contains(c.textEncoder.hiddenSize()),
        "unet/config.json: expected cross_attention_dim %s (the text encoder's hidden_size), found %s",
        c.textEncoder.hiddenSize(), c.unet.crossAttentionDim());
    checkArgument(c.unet.inChannels() == c.vae.latentChannels() && c.unet.outChannels() == c.vae.latentChannels(),
        "unet/config.json: expected in_channels = out_channels = the VAE's latent_channels %s, found %s and %s",
        c.vae.latentChannels(), c.unet.inChannels(), c.unet.outChannels());
    c.schedulerConfig = DiffusersConfig.read(dir.resolve("scheduler/scheduler_config.json"));
    // fail now, not on the first call, if the config does not suit the sampler or the step count
    Scheduler.create(b.schedulerType, c.schedulerConfig).setTimesteps(b.steps);
    int f = c.vae.downsamplingFactor();
    int multiple = f * (1 << (c.unet.blockOutChannels().size() - 1));
    c.height = b.height > 0 ? b.height : c.unet.sampleSize() * f;
    c.width = b.width > 0 ? b.width : c.unet.sampleSize() * f;
    checkArgument(c.height % multiple == 0 && c.width % multiple == 0,
        "height, width: expected multiples of %s (VAE factor %s × UNet downsampling), found %s x %s", multiple, f,
        c.height, c.width);
    return c;
  }

  // ---------------------------------------------------------------- builder

  public static final class Builder {
    private Path modelDirectory;
    private SchedulerType schedulerType = SchedulerType.DDIM;
    private int steps = 50;
    private double guidanceScale = 2.0;
    private double eta = 0.0;
    private int height = 512;
    private int width = 512;
    private String negativePrompt = "";
    private int lanes = Runtime.getRuntime().availableProcessors() > 1 ? 2 : 1;

    private Builder() {}

    /** A diffusers Stable Diffusion folder (model_index.json, tokenizer/, text_encoder/, unet/, vae/, scheduler/). */
    public Builder modelDirectory(Path v) { this.modelDirectory = v; return this; }
    public Builder scheduler(SchedulerType v) { this.schedulerType = v; return this; }
    public Builder steps(int v) { this.steps = v; return this; }
    /** w in eps_u + w·(eps_c − eps_u); as in diffusers, w <= 1 turns guidance off (no unconditional pass). */
    public Builder guidanceScale(double v) { this.guidanceScale = v; return this; }
    /** DDIM's eta (0: deterministic DDIM); only DDIM accepts eta > 0. */
    public Builder eta(double v) { this.eta = v; return this; }
    /** Image height in pixels; 0 takes the UNet's sample_size × the VAE factor, as diffusers does. */
    public Builder height(int v) { this.height = v; return this; }
    /** Image width in pixels; 0 takes the UNet's sample_size × the VAE factor, as diffusers does. */
    public Builder width(int v) { this.width = v; return this; }
    /** The prompt guided away from; "" (the default) is diffusers' unconditional prompt. */
    public Builder negativePrompt(String v) { this.negativePrompt = v; return this; }

    /**
     * How many parts of each UNet batch run at once, each through its own copy of the graph
     * (sharing the weights): 2 by default on a machine with more than one core, 1 otherwise.
     * While one part waits in SameDiff's per-op bookkeeping, which is single-threaded, the other
     * computes; with classifier-free guidance the parts are the unconditional and the conditional
     * half. The images are the same within float rounding (batch size changes the order of some
     * sums).
     */
    public Builder lanes(int v) { this.lanes = v; return this; }

    /** Validates, reads every component and builds the three graphs once. */
    public StableDiffusionPipeline build() {
      checkArgument(modelDirectory != null, "modelDirectory: expected a diffusers folder, found null");
      checkArgument(schedulerType != null, "scheduler: expected one of %s, found null",
          java.util.Arrays.toString(SchedulerType.values()));
      checkArgument(steps >= 1, "steps: expected at least 1, found %s", steps);
      checkArgument(Double.isFinite(guidanceScale) && guidanceScale >= 0,
          "guidanceScale: expected a finite value >= 0, found %s", guidanceScale);
      checkArgument(Double.isFinite(eta) && eta >= 0, "eta: expected a finite value >= 0, found %s", eta);
      checkArgument(eta == 0 || schedulerType == SchedulerType.DDIM,
          "eta: expected 0 for scheduler %s (only DDIM has eta), found %s", schedulerType, eta);
      checkArgument(height >= 0 && width >= 0, "height, width: expected >= 0 (0: from the config), found %s x %s",
          height, width);
      checkArgument(negativePrompt != null, "negativePrompt: expected a string (\"\" for none), found null");
      checkArgument(lanes == 1 || lanes == 2, "lanes: expected 1 or 2, found %s", lanes);
      return new StableDiffusionPipeline(this, load(this));
    }
  }
}
