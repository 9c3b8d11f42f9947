/**
 * Whole-training-state persistence: {@link io.github.stablerep.core.train.TrainingCheckpoint}
 * saves a model's arrays, the optimiser state, counters and an RNG seed into one safetensors
 * file, atomically, so that a killed run resumes bit-for-bit on the same backend.
 */
package io.github.stablerep.core.train;
