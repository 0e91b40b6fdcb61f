"""Shared test setup."""

import pytest


@pytest.fixture(scope="session")
def _session_cache(tmp_path_factory):
    return tmp_path_factory.mktemp("heatoverlay-cache")


@pytest.fixture(autouse=True)
def _isolated_caches(tmp_path, monkeypatch, _session_cache):
    """Keep magicgui's persisted widget settings and our colormap cache out of
    the user's real cache (and out of the test's own tmp_path)."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("HEATOVERLAY_CACHE_DIR", str(_session_cache))
