"""Objective metrics of multi-focus image fusion, in the convention of the published tables.

Numbers in this field move by more than the gap between methods when a convention changes,
so every function here follows one convention, the one behind the Lytro tables of Liu et
al. (2020) and validated against their MATLAB reference values (``tests/test_metrics.py``):

1. Every image goes through the one input contract (:func:`smfuse.io.grey255`): ``uint8``,
   ``uint16`` or float in [0, 1] (in [0, ``data_range``] with ``data_range=``; float
   images on 0..255 need ``data_range=255``). An 8-bit colour image is turned grey with
   MATLAB ``rgb2gray`` (rounded half away from zero to ``uint8``,
   :func:`smfuse.io.rgb2gray_matlab`), other colour images with its weights unrounded;
   then everything is ``float64`` on the 0..255 scale (8-bit grey exactly as it is).
2. Sources ``a``, ``b`` and fused ``f`` must be of the same kind (all grey or all colour)
   and the same size, at least 11x11 pixels.
3. Metrics built on histograms of rescaled images (QMI, QNCIE) and QCB first apply Zheng
   Liu's ``normalize1``: ``round((X - min) / (max - min) * 255)`` with MATLAB rounding.

Fusion metrics (sources and fused image): one module per family, the names
re-exported here (``from smfuse.evaluation.metrics import qabf``):

==================  =====================================================  ========================
family              metrics                                                module
==================  =====================================================  ========================
information         :func:`qmi`, :func:`qncie`, :func:`mutual_information`  ``_information.py``
gradient            :func:`qabf` (QAB/F, "QG")                              ``_gradient.py``
structural          :func:`ssim`, :func:`ssim_mean`, :func:`qy`             ``_structural.py``
perceptual          :func:`qcb`                                             ``_perceptual.py``
no-reference        :func:`entropy`, :func:`spatial_frequency`,             ``_no_reference.py``
                    :func:`average_gradient`
ground truth        :func:`psnr`, :func:`ssim_gt`, :func:`mask_accuracy`,   ``_ground_truth.py``
                    :func:`boundary_fscore`, :func:`delta_e_cie76`,
                    :func:`region_recall`, :func:`boundary_distance`
==================  =====================================================  ========================

The input convention and the histogram helpers they share are in ``_common.py``.
:func:`compute_all` (``_all.py``) gives every fusion metric and no-reference statistic
at once, sharing the grey and ``normalize1``'d images, under the keys of
:data:`METRIC_KEYS`. scikit-image computes SSIM, the entropy and the mask boundaries
(the identical definitions, checked in ``tests/test_metrics.py``).

Departures from the MATLAB reference code, all on inputs where that code returns NaN or
values outside the metric's range:

- ``normalize1`` of a constant non-zero image gives all zeros (MATLAB: NaN).
- QY: local variances and covariances of magnitude below ``1e-6`` are set to exactly 0
  before the SSIM terms are formed (see :func:`qy`).
- QCB, QMI, QNCIE: 0/0 cases (all-constant images) get the limit value stated in each
  function's Notes.

References
----------
Liu, Y., Wang, L., Cheng, J., Li, C., Chen, X. "Multi-focus image fusion: a survey of the
state of the art." Information Fusion 64 (2020) 71-91. doi:10.1016/j.inffus.2020.06.013

Liu, Z., Blasch, E., Xue, Z., Zhao, J., Laganiere, R., Wu, W. "Objective assessment of
multiresolution image fusion algorithms for context enhancement in night vision: a
comparative study." IEEE TPAMI 34(1) (2012) 94-109. doi:10.1109/TPAMI.2011.109
"""

from smfuse.evaluation.metrics._all import METRIC_KEYS, compute_all
from smfuse.evaluation.metrics._gradient import qabf
from smfuse.evaluation.metrics._ground_truth import (boundary_distance, boundary_fscore, delta_e_cie76, mask_accuracy,
                                                      psnr, region_recall, ssim_gt)
from smfuse.evaluation.metrics._information import mutual_information, qmi, qncie
from smfuse.evaluation.metrics._no_reference import average_gradient, entropy, spatial_frequency
from smfuse.evaluation.metrics._perceptual import qcb
from smfuse.evaluation.metrics._structural import qy, ssim, ssim_mean

__all__ = [
    "qmi",
    "qabf",
    "ssim",
    "ssim_mean",
    "qy",
    "qcb",
    "qncie",
    "mutual_information",
    "entropy",
    "spatial_frequency",
    "average_gradient",
    "psnr",
    "ssim_gt",
    "mask_accuracy",
    "boundary_fscore",
    "boundary_distance",
    "delta_e_cie76",
    "region_recall",
    "compute_all",
    "METRIC_KEYS",
]
