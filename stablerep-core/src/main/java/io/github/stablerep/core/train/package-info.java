/**
 * Training support: {@link io.github.stablerep.core.train.TrainStep} runs one optimiser step of a
 * SameDiff model (per-step noise feeds, gradients and forward values in one pass with array
 * reuse, clipping, AdamW, BatchNorm statistics) for the model parts that implement {@link
 * io.github.stablerep.core.train.TrainingPart}; {@link
 * io.github.stablerep.core.train.TrainingCheckpoint} saves a model's arrays, the optimiser state,
 * counters and an RNG seed into one safetensors file, atomically, so that a killed run resumes
 * bit-for-bit on the same backend; {@link io.github.stablerep.core.train.SessionMemory} gives
 * inference loops the same array reuse.
 */
package io.github.stablerep.core.train;
