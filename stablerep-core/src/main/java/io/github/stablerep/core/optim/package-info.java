/**
 * StableRep's optimiser: {@link io.github.stablerep.core.optim.AdamW} with decoupled weight
 * decay and {@link io.github.stablerep.core.optim.ParameterGroups} (no decay on biases and norm
 * parameters), the per-iteration warm-up + cosine {@link
 * io.github.stablerep.core.optim.WarmupCosineSchedule}, and torch-style {@link
 * io.github.stablerep.core.optim.GradientClipping}. Everything matches PyTorch 1.13's {@code
 * torch.optim.AdamW} and {@code clip_grad_norm_} against goldens from {@code
 * tools/reference/optim_reference.py}.
 *
 * <p>Two training styles are supported: a loop of your own ({@code core.train.TrainStep}, or
 * gradients of your own into {@link io.github.stablerep.core.optim.AdamW#step(org.nd4j.autodiff.samediff.SameDiff,
 * java.util.Map)}; any parameter-group rule, clipping, state in SafeTensors) and SameDiff's
 * {@code fit} ({@link io.github.stablerep.core.optim.AdamW#trainingConfig}; decay exclusion by
 * rank only, since ND4J's regularisation never sees a variable's name).
 */
package io.github.stablerep.core.optim;
