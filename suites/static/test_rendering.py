"""Rendering works with whichever kustomize the machine has, and says how to get one."""

from pathlib import Path

import pytest

from suites.static import render


def test_a_machine_without_kustomize_is_told_how_to_get_one(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # arrange: nothing on PATH, nothing in the cache, no override
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.delenv("DEMO_MICRO_KUSTOMIZE", raising=False)
    monkeypatch.setattr(render, "CACHED_KUSTOMIZE", tmp_path / "kustomize")
    # act / assert
    with pytest.raises(render.RendererMissingError, match=r"airgap/go/build-kustomize\.sh"):
        render.renderer()


def test_a_kustomize_in_the_cache_is_used_when_nothing_is_on_path(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    cached = tmp_path / "kustomize"
    cached.write_text("#!/bin/sh\n")
    cached.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    monkeypatch.delenv("DEMO_MICRO_KUSTOMIZE", raising=False)
    monkeypatch.setattr(render, "CACHED_KUSTOMIZE", cached)
    assert render.renderer() == [str(cached), "build"]
