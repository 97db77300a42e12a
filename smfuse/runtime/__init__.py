"""What makes the method trainable, fast and saved.

``train``         the training configurations (:class:`train.TrainConfig`), the sampler of
                  patches with their cached MI (:class:`train.TrainingSet`), the step and the
                  run harness (resume, logs, checkpoints)
``distributed``   data-parallel training under ``torchrun``
``inference``     whole-image fusion at any size: tiles with a halo, the fast CPU path
``fast``          the fast CPU forward of the mask generator (same logits, ~3x faster)
``precision``     bfloat16 where the CPU computes it natively
``allocator``     keeps freed activations mapped (glibc)
``weights``       named weight sets: ``code``, ``paper`` (ours, shipped in ``trained/``) and
                  ``authors`` (the authors' release); loading and caching
``checkpoint``    our checkpoint format; ``official``: the authors' TensorFlow release;
                  ``tensorbundle``: TensorFlow's checkpoint format read without TensorFlow
``torch_internals``  the one place that touches PyTorch internals
"""
