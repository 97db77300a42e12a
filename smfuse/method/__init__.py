"""The method of SMFuse, in paper order: what a student reads beside the paper.

J. Ma, Z. Le, X. Tian, J. Jiang, "SMFuse: Multi-Focus Image Fusion via Self-Supervised
Mask-Optimization", IEEE Trans. Computational Imaging 7 (2021) 309-320,
doi:10.1109/TCI.2021.3063872. Authors' code: github.com/LeBoyal/SMFuse (TensorFlow 1).

The idea: fusing two registered sources I1 (near focus) and I2 (far focus) is a per-pixel
choice of source. A mask generator outputs a binary mask MF and the fused image is
IF = MF * I2 + (1 - MF) * I1. It is trained without ground truth, from two pseudo-labels
computed from the sources alone: the guided block's initial mask MI (through the map loss
Lmap) and the max-gradient map GM (through the gradient loss Lgra).

Map from the paper to the code (read the modules in this order)
--------------------------------------------------------------
=====================================  ====================================================
Paper                                  Code
=====================================  ====================================================
Sec. III-A, Fig. 3: repeated blur      :func:`filters.mean_filter`, :func:`guided_block.subtraction_map`
  (subtraction map S = |I - blur(I)|)
Sec. III-A: guided filter (He et al.)  :func:`filters.guided_filter`, :func:`filters.box_mean`,
  F = GF(guide I, input S, r=5, 0.3)   :func:`guided_block.focus_map`
Sec. III-A: initial mask MI = F2 > F1  :func:`guided_block.initial_mask`
Sec. III-B, Fig. 2: mask generator     :class:`network.MaskGenerator` (two unshared branches,
  (dense branches, 1x1 decoder)        dense 3x3 convs, a 1x1 decoder), :func:`network.to_network_input`
Sec. III-B: MG = tanh(z)/2 + 0.5,      :meth:`network.MaskGenerator.forward`, :func:`network.binarize`,
  MF = sign(MG - 0.5)/2 + 0.5          :func:`fusion.mg_from_logits`, :func:`fusion.binary_mask`
Sec. III-C: Laplacian, max-gradient    :func:`filters.laplacian`, :func:`losses.max_gradient_map`
  map GM
Sec. III-C: gradient loss Lgra         :func:`losses.gradient_loss`
Sec. III-C: map loss Lmap (smooth L1)  :func:`losses.map_loss`
Sec. III-C: L = Lgra + lambda Lmap     :class:`losses.SMFuseLoss` (lambda = 10 on Lmap, as released)
Sec. III-D: IF = MF I2 + (1 - MF) I1   :func:`fusion.apply_mask`
=====================================  ====================================================

Where the released code departs from the paper (Lgra trains nothing there; the label
lies in [-1, 1]), both behaviours are offered as ``variant="code"`` (the default,
faithful to the release) and ``variant="paper"``; :mod:`smfuse.method.losses` says how.

What makes the method trainable and fast at scale (the training loop, whole-image and
tiled inference, weight formats) is :mod:`smfuse.runtime`; nothing here imports it.
"""
