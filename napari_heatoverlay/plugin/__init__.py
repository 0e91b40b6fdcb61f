"""napari glue: reader, sample data, layers, menus and the dock widget."""
