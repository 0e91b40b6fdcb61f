from napari_heatoverlay.engine.channels import reduce_channels as reduce_channels
from napari_heatoverlay.engine.contours import contours as contours
from napari_heatoverlay.engine.contours import draw_contours as draw_contours
from napari_heatoverlay.engine.normalize import normalize as normalize
from napari_heatoverlay.engine.options import Interpolation as Interpolation
from napari_heatoverlay.engine.options import Mode as Mode
from napari_heatoverlay.engine.options import Norm as Norm
from napari_heatoverlay.engine.options import OverlayOptions as OverlayOptions
from napari_heatoverlay.engine.overlay import colorize as colorize
from napari_heatoverlay.engine.overlay import overlay as overlay
from napari_heatoverlay.figures import figure as figure
from napari_heatoverlay.io.outputs import write_zarr as write_zarr
from napari_heatoverlay.io.video import write_video as write_video
from napari_heatoverlay.montages import montage as montage
from napari_heatoverlay.plugin.layers import add_overlay as add_overlay
from napari_heatoverlay.samples import sample as sample

__version__: str
__all__: list[str]
