"""Shared fixtures: LibreOffice (``soffice``) for workbook recalculation tests.

``soffice`` skips a test when LibreOffice is missing, with the install hint, except on CI
(``CI=true``) where a missing LibreOffice is a failure: the CI script installs it, so its
absence there means the LibreOffice tests silently stopped running.
"""

from __future__ import annotations

import os

import pytest
from hypothesis import settings

# One hypothesis profile for the whole suite: derandomized (the same examples every run, so CI is
# reproducible and a failure is replayable), no deadline (2-core machine, first-call imports),
# 150 examples unless a test asks for another number.
settings.register_profile("volarb", max_examples=150, derandomize=True, deadline=None)
settings.load_profile("volarb")


def run_cli(capsys, *argv):
    """Run ``volarb ARGV...`` in-process: ``(exit code, stdout, stderr)`` (arguments made text)."""
    from workbook.cli import main

    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(autouse=True)
def _no_progress_bars(monkeypatch):
    """Progress bars off in every test (they go to stderr, which CLI tests read); the CLI's
    cached-value step (several seconds of formula evaluation a build) off too, except in the
    tests that check it (``cached_values`` fixture: tests/workbook/test_cached.py)."""
    monkeypatch.setenv("VOLARB_NO_PROGRESS", "1")
    monkeypatch.setenv("VOLARB_NO_CACHED_VALUES", "1")


@pytest.fixture
def cached_values(monkeypatch):
    """The CLI's default save: cached values in every formula cell."""
    monkeypatch.delenv("VOLARB_NO_CACHED_VALUES", raising=False)


SOFFICE_MISSING = (
    "LibreOffice not found: install it with `apt-get install -y libreoffice-calc-nogui` (Debian/Ubuntu)"
)


@pytest.fixture(scope="session")
def soffice() -> str:
    """Path of the LibreOffice ``soffice`` executable (skip, or fail on CI, when missing)."""
    from workbook.recalc import find_soffice

    path = find_soffice()
    if path is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(SOFFICE_MISSING + " (CI=true: LibreOffice tests must run on CI)")
        pytest.skip(SOFFICE_MISSING)
    return path


def _tool(name: str, package: str) -> str:
    import shutil

    path = shutil.which(name)
    if path is None:
        msg = f"{name} not found: install it with `apt-get install -y {package}` (Debian/Ubuntu)"
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(msg + " (CI=true: these tests must run on CI)")
        pytest.skip(msg)
    return path


@pytest.fixture(scope="session")
def ssconvert() -> str:
    """Path of Gnumeric's ``ssconvert`` (skip, or fail on CI, when missing)."""
    return _tool("ssconvert", "gnumeric")


@pytest.fixture(scope="session")
def pdftotext() -> str:
    """Path of poppler's ``pdftotext`` (skip, or fail on CI, when missing)."""
    return _tool("pdftotext", "poppler-utils")
