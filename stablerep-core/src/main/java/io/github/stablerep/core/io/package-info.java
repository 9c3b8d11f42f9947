/**
 * Tensor file formats: {@link io.github.stablerep.core.io.SafeTensors} (Hugging Face
 * checkpoints) and {@link io.github.stablerep.core.io.Npy} (NumPy arrays, used for golden test
 * data), and {@link io.github.stablerep.core.io.StrictJson}, the project's one JSON parser and
 * writer (headers, configs, result files).
 *
 * <p>Both readers treat files as untrusted input: every malformed file produces a checked
 * exception ({@link io.github.stablerep.core.io.SafeTensorsException},
 * {@link io.github.stablerep.core.io.NpyException}) whose message names the file, the tensor,
 * what was expected and what was found, and no reader allocates more than the file's size
 * because of what a header claims. Both writers replace their target atomically.
 */
package io.github.stablerep.core.io;
