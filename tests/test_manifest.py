"""The npe2 manifest is valid and napari finds every contribution."""

import shutil
import subprocess
import sys
from pathlib import Path

import npe2
import pytest
from napari.plugins import _initialize_plugins, _npe2

PLUGIN = "napari-heatoverlay"
ROOT = Path(__file__).resolve().parents[1]


def test_npe2_validate_with_imports():
    """The CLI check CI runs, plus importing every ``python_name``."""
    npe2_cli = shutil.which("npe2") or pytest.skip("npe2 command not on PATH")
    done = subprocess.run(
        [npe2_cli, "validate", "--imports", PLUGIN],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "valid" in done.stdout


def test_installed_manifest_is_the_repository_one():
    manifest = npe2.PluginManifest.from_distribution(PLUGIN)
    assert manifest == npe2.PluginManifest.from_file(ROOT / "napari.yaml")


def test_npe2_discovers_every_contribution():
    manager = npe2.PluginManager.instance()
    manager.discover()
    contributions = manager.get_manifest(PLUGIN).contributions
    commands = {command.id for command in contributions.commands}
    assert {
        f"{PLUGIN}.get_reader",
        f"{PLUGIN}.make_widget",
        f"{PLUGIN}.sample",
        f"{PLUGIN}.overlay_selected",
        f"{PLUGIN}.align_selected",
    } <= commands
    assert [reader.command for reader in contributions.readers] == [
        f"{PLUGIN}.get_reader"
    ]
    assert [widget.display_name for widget in contributions.widgets] == ["Heat overlay"]
    assert [sample.key for sample in contributions.sample_data] == ["coffee_heatmap"]
    visualize = [
        item.command for item in contributions.menus["napari/layers/visualize"]
    ]
    assert visualize == [f"{PLUGIN}.overlay_selected", f"{PLUGIN}.align_selected"]


def test_napari_lists_the_widget_sample_and_reader(tmp_path):
    _initialize_plugins()
    assert ("dock", (PLUGIN, ["Heat overlay"])) in list(_npe2.widget_iterator())
    samples = dict(_npe2.sample_iterator())
    assert "coffee_heatmap" in samples[PLUGIN]
    assert PLUGIN in _npe2.get_readers(str(tmp_path / "features.npy"))


def test_plain_import_loads_neither_napari_nor_qt():
    code = (
        "import sys, napari_heatoverlay\n"
        "napari_heatoverlay.add_overlay\n"
        "assert not {'napari', 'qtpy', 'PyQt6'} & set(sys.modules), sorted(sys.modules)\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_reader_patterns_are_the_suffixes_io_reads():
    from napari_heatoverlay.io.features import FEATURE_SUFFIXES

    manifest = npe2.PluginManifest.from_file(
        ROOT / "napari_heatoverlay" / "napari.yaml"
    )
    [reader] = manifest.contributions.readers
    assert sorted(reader.filename_patterns) == sorted(f"*{s}" for s in FEATURE_SUFFIXES)
