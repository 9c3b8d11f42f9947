/**
 * Streaming readers for the evaluation datasets: IDX (MNIST, Fashion-MNIST), the CIFAR-10/100
 * binary format, torchvision-style image folders and CSV/TSV manifests. Each is an {@link
 * io.github.stablerep.eval.data.ImageDataset}: labels are read up front (they are small), images
 * are read sequentially in batches so memory stays bounded by the batch, as float values in
 * [0, 1] with layout [C, H, W]. Malformed input throws {@link
 * io.github.stablerep.eval.data.DatasetFormatException}.
 */
package io.github.stablerep.eval.data;
