"""The package's public face: names, lazy loading, no Qt for the engine."""

import subprocess
import sys

import napari_heatoverlay

GUI = ("napari", "qtpy", "PyQt5", "PyQt6", "PySide2", "PySide6", "vispy", "magicgui")


def test_public_names_resolve():
    for name in napari_heatoverlay.__all__:
        assert callable(getattr(napari_heatoverlay, name)), name
    assert set(napari_heatoverlay.__all__) <= set(dir(napari_heatoverlay))


def test_engine_imports_neither_napari_nor_qt():
    code = (
        "import sys, numpy as np, napari_heatoverlay as h\n"
        "h.overlay(np.zeros((8, 8, 3), np.uint8), np.ones((2, 2)))\n"
        "h.normalize(np.ones(3)); h.colorize(np.ones((2, 2)))\n"
        "h.write_zarr\n"
        f"print(sorted(m for m in sys.modules if m.split('.')[0] in {GUI!r}))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"


def test_import_is_light():
    code = "import sys, napari_heatoverlay; print('numba' in sys.modules, 'dask' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False False"


def test_the_stub_names_exactly_the_public_api():
    import ast
    from importlib import import_module
    from pathlib import Path

    stub = Path(napari_heatoverlay.__file__).with_suffix(".pyi")
    names = {}
    for node in ast.parse(stub.read_text()).body:
        if isinstance(node, ast.ImportFrom):
            for alias in node.names:
                names[alias.asname or alias.name] = (node.module, alias.name)
    assert sorted(names) == sorted(napari_heatoverlay.__all__)
    for public, (module, name) in names.items():
        assert getattr(import_module(module), name) is getattr(
            napari_heatoverlay, public
        ), public
