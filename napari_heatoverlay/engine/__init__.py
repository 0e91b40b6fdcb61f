"""The blend engine: arrays in, arrays out. Imports neither napari nor Qt."""
