"""Shared test setup."""

import pytest


@pytest.fixture(autouse=True)
def _isolated_widget_settings(tmp_path, monkeypatch):
    """Keep magicgui's persisted widget settings out of the user's cache."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
