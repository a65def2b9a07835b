"""Without LibreOffice the spreadsheet tests skip with the install hint, but fail under CI=true."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HINT = "LibreOffice not found: install it with `apt-get install -y libreoffice-calc-nogui` (Debian/Ubuntu)"


def _run_without_soffice(ci: bool) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "VOLARB_SOFFICE")}
    env["PATH"] = str(Path(sys.executable).parent)  # python only: no soffice on the path
    if ci:
        env["CI"] = "true"
    cmd = [
        sys.executable,
        "-m",
        "pytest",
        "-q",
        "-rs",
        "-p",
        "no:cacheprovider",
        "tests/workbook/test_report_libreoffice.py",
        "-k",
        "test_no_excel_errors",
    ]
    return subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)


def test_missing_libreoffice_skips_with_the_install_hint():
    result = _run_without_soffice(ci=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "skipped" in result.stdout and HINT in result.stdout


def test_missing_libreoffice_fails_under_ci():
    result = _run_without_soffice(ci=True)
    assert result.returncode != 0, result.stdout
    assert "CI=true: LibreOffice tests must run on CI" in result.stdout
    assert "skipped" not in result.stdout.splitlines()[-1]
