"""``python -m napari_heatoverlay``: the ``heatoverlay`` command."""

import sys

from napari_heatoverlay.cli.main import main

if __name__ == "__main__":
    sys.exit(main())
