"""How much work an overlay is, to decide where to blend it.

The UI thread may blend a request that takes a few tens of milliseconds (a
worker thread and its progress bar cost more than that); anything larger
goes to a worker, so that the viewer never freezes. The work is the heat's
size plus the output's: a huge heatmap over a small image costs the
heatmap's size (normalising, filtering and resampling every heat pixel),
however small the result.
"""

from __future__ import annotations

import math
import sys

import numpy as np

from napari_heatoverlay.engine.blend import use_kernel
from napari_heatoverlay.engine.options import Mode
from napari_heatoverlay.plugin.plan import OverlayPlan

#: Estimated nanoseconds of work per pixel, measured on a busy 2-core
#: machine: each heat pixel is normalised, filtered and resampled; each
#: output pixel blended by the numba kernel (once loaded) or in NumPy.
HEAT_NS = 20
KERNEL_NS = 8
NUMPY_NS = 110
#: Requests estimated at up to this many milliseconds are blended on the UI
#: thread (quicker than starting a worker and its progress bar; the sample
#: takes about 25 ms); more in a worker, so that the UI thread never blocks
#: for more than about 100 ms.
QUICK_MS = 40
_KERNEL_MODULE = "napari_heatoverlay.engine.kernels"


def estimate_ms(plan: OverlayPlan) -> float:
    """Estimated milliseconds to blend `plan` here and now.

    Every heat pixel costs :data:`HEAT_NS` and every output pixel
    :data:`KERNEL_NS` or :data:`NUMPY_NS`; infinite when the blend would
    first load (and maybe compile) the numba kernel, which takes a second.

    Examples
    --------
    >>> import numpy as np
    >>> from napari.layers import Image
    >>> from napari_heatoverlay.plugin.plan import plan_overlay
    >>> small = plan_overlay(Image(np.zeros((64, 64))), Image(np.zeros((8192, 8192))))
    >>> estimate_ms(small) > 1000  # the heatmap's size is the work
    True
    """
    heat_pixels = math.prod(plan.heatmap.shape)
    output_pixels = math.prod(plan.shape[:-1])
    # the kernel blends these modes with one alpha (engine.blend.blend)
    kernel = (
        use_kernel(output_pixels)
        and plan.options.mode != Mode.TINT
        and not isinstance(plan.options.alpha, np.ndarray)
    )
    if kernel and _KERNEL_MODULE not in sys.modules:
        return math.inf
    per_output = KERNEL_NS if kernel else NUMPY_NS
    return (heat_pixels * HEAT_NS + output_pixels * per_output) / 1e6
