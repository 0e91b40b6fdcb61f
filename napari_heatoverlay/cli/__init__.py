"""The ``heatoverlay`` command. Imports no Qt, and nothing heavy for ``--help``."""
