"""smfuse: a reproducible replication of SMFuse.

J. Ma, Z. Le, X. Tian, J. Jiang, "SMFuse: Multi-Focus Image Fusion via Self-Supervised
Mask-Optimization", IEEE Transactions on Computational Imaging 7 (2021) 309-320.
doi:10.1109/TCI.2021.3063872

The public face, what a user needs::

    import smfuse
    mi = smfuse.initial_mask(a, b)                  # the guided block's mask MI (Sec. III-A)
    net = smfuse.load_model("authors")             # the authors' weights, or "code" / "paper" (ours)
    result = smfuse.fuse(a, b, net)                 # .fused, .mask (MF), .mg (MG)
    scores = smfuse.metrics.compute_all(a, b, result.fused)
    smfuse.train(smfuse.get_config("quick"), "runs/my-run")

The package, by role (each folder's docstring says more):

``smfuse.method``      the method itself, in paper order (start here beside the paper)
``smfuse.runtime``     what makes it trainable, fast and saved: training harness, fast CPU
                       path, precision, weight formats, whole-image inference
``smfuse.data``        named data sets, folders of one's own pairs, synthetic pairs, fetching
``smfuse.evaluation``  metrics, baselines, peer methods, the method registry, evaluation
``smfuse.reproduce``   the claims and their verdicts, notebooks through papermill, the report,
                       the site, the course, the training study
``smfuse.io``          the input contract: reading, checking and writing images

Importing the package changes nothing global and loads nothing heavy: each name below is
imported on first use. Entry points (``smfuse``, ``python -m smfuse.reproduce``) set
``OMP_WAIT_POLICY=PASSIVE`` before torch loads; a library user on a small shared CPU does
the same with ``os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")`` before importing torch.
"""

from importlib import import_module as _import_module

__version__ = "0.1.0"

# public name -> (module, attribute); attribute None: the module itself
_PUBLIC = {
    "initial_mask": ("smfuse.method.guided_block", "initial_mask"),
    "MaskGenerator": ("smfuse.method.network", "MaskGenerator"),
    "fuse": ("smfuse.runtime.inference", "fuse"),
    "FuseResult": ("smfuse.runtime.inference", "FuseResult"),
    "load_model": ("smfuse.runtime.weights", "load_model"),
    "load_weights": ("smfuse.runtime.weights", "load_weights"),
    "train": ("smfuse.runtime.train", "train"),
    "TrainConfig": ("smfuse.runtime.train", "TrainConfig"),
    "get_config": ("smfuse.runtime.train", "get_config"),
    "read_image": ("smfuse.io", "read_image"),
    "write_image": ("smfuse.io", "write_image"),
    "metrics": ("smfuse.evaluation.metrics", None),
}

__all__ = ["__version__", *_PUBLIC]


def __getattr__(name: str):
    if name not in _PUBLIC:
        raise AttributeError(f"module 'smfuse' has no attribute {name!r}")
    module, attr = _PUBLIC[name]
    value = _import_module(module)
    return value if attr is None else getattr(value, attr)


def __dir__():
    return sorted(set(globals()) | set(_PUBLIC))
