package io.github.stablerep.models.vit;

/**
 * The key names and tensor layouts of a ViT state dict, for {@link
 * VisionTransformer#importWeights} and {@link VisionTransformer#exportWeights}. Both store
 * PyTorch's layouts: Linear weights [out, in], the patch convolution [out, in, kH, kW].
 */
public enum WeightLayout {
  /**
   * timm's {@code VisionTransformer}: {@code cls_token}, {@code pos_embed}, {@code
   * patch_embed.proj.*}, {@code blocks.{i}.norm1.*}, {@code blocks.{i}.attn.qkv.*}, {@code
   * blocks.{i}.attn.proj.*}, {@code blocks.{i}.norm2.*}, {@code blocks.{i}.mlp.fc1.*}, {@code
   * blocks.{i}.mlp.fc2.*}, {@code norm.*}. The classifier ({@code head.*}) is ignored.
   */
  TIMM,
  /**
   * torchvision's {@code vit_b_16} family: {@code class_token}, {@code conv_proj.*}, {@code
   * encoder.pos_embedding}, {@code encoder.layers.encoder_layer_{i}.ln_1.*}, {@code
   * .self_attention.in_proj_weight/in_proj_bias}, {@code .self_attention.out_proj.*}, {@code
   * .ln_2.*}, {@code .mlp.0.*}, {@code .mlp.3.*} (torchvision 0.14; later versions' {@code
   * mlp.linear_1/linear_2} are accepted on import too), {@code encoder.ln.*}. The classifier
   * ({@code heads.*}) is ignored.
   */
  TORCHVISION
}
