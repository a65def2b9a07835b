"""Recalculate workbooks with LibreOffice headless, so formula cells carry computed values.

openpyxl writes formulas without cached results; a program reading such a file with
``data_only=True`` gets ``None``.  :func:`recalculate` runs ``soffice --headless --convert-to
xlsx`` in a throw-away user profile (``-env:UserInstallation=file:///tmp/...``, so it neither
touches nor waits for the user's own LibreOffice) whose settings force "recalculate on load"
for Excel files, with a timeout.  Several files are converted by one soffice process.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from pathlib import Path

from workbook.io import WorkbookError, atomic_write_bytes

__all__ = ["find_soffice", "recalculate", "recalculate_in_place", "export_pdf", "SOFFICE_HINT"]

SOFFICE_HINT = (
    "LibreOffice not found: install it with `apt-get install -y libreoffice-calc-nogui` (Debian/Ubuntu)"
)

# Calc > Formula > "Recalculation on file load": 0 = always, for Excel 2007+ and ODF files.
_REGISTRY = """<?xml version="1.0" encoding="UTF-8"?>
<oor:items xmlns:oor="http://openoffice.org/2001/registry" xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<item oor:path="/org.openoffice.Office.Calc/Formula/Load"><prop oor:name="OOXMLRecalcMode" oor:op="fuse"><value>0</value></prop></item>
<item oor:path="/org.openoffice.Office.Calc/Formula/Load"><prop oor:name="ODFRecalcMode" oor:op="fuse"><value>0</value></prop></item>
</oor:items>
"""


def find_soffice() -> str | None:
    """Path of the ``soffice`` executable (``$VOLARB_SOFFICE`` first), or None."""
    env = os.environ.get("VOLARB_SOFFICE")
    if env and Path(env).exists():
        return env
    return shutil.which("soffice") or shutil.which("libreoffice")


def recalculate(paths: Sequence[str | Path], outdir: str | Path, timeout: float = 120.0) -> list[Path]:
    """Open each workbook in LibreOffice headless, recalculate, save as xlsx in ``outdir``.

    Parameters
    ----------
    paths : sequence of path
        Input workbooks (distinct file names); converted by a single soffice process.
    outdir : path
        Output folder (must differ from the inputs' folder; outputs keep the input names).
    timeout : float
        Seconds before soffice is killed.

    Returns
    -------
    list of Path
        The recalculated files, in the order of ``paths``.

    Raises
    ------
    WorkbookError
        LibreOffice missing, timed out, failed, or produced no output.
    """
    return _convert(paths, outdir, "xlsx:Calc MS Excel 2007 XML", ".xlsx", timeout)


def export_pdf(paths: Sequence[str | Path], outdir: str | Path, timeout: float = 180.0) -> list[Path]:
    """Recalculate each workbook in LibreOffice headless and print it to PDF in ``outdir``.

    The print setup of the workbook applies (fit to width, repeated title rows, footers), so
    the PDF is what a reader printing the report gets.  One soffice process for all the files;
    arguments, errors and the recalculation on load as :func:`recalculate`.
    """
    return _convert(paths, outdir, "pdf:calc_pdf_Export", ".pdf", timeout)


def _convert(
    paths: Sequence[str | Path], outdir: str | Path, target: str, suffix: str, timeout: float
) -> list[Path]:
    soffice = find_soffice()
    if soffice is None:
        raise WorkbookError(SOFFICE_HINT)
    files = [Path(p).resolve() for p in paths]
    folder = Path(outdir).resolve()
    folder.mkdir(parents=True, exist_ok=True)
    if any(p.parent == folder for p in files):
        raise WorkbookError(f"{folder}: the output folder must differ from the input folder")
    with tempfile.TemporaryDirectory(prefix="volarb-lo-") as profile:
        user = Path(profile) / "user"
        user.mkdir()
        (user / "registrymodifications.xcu").write_text(_REGISTRY, encoding="utf-8")
        cmd = [
            soffice,
            f"-env:UserInstallation={Path(profile).as_uri()}",
            "--headless",
            "--norestore",
            "--nolockcheck",
            "--calc",
            "--convert-to",
            target,
            "--outdir",
            str(folder),
            *map(str, files),
        ]
        try:
            proc = subprocess.run(
                cmd, capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL
            )
        except subprocess.TimeoutExpired:
            raise WorkbookError(f"LibreOffice did not finish recalculating within {timeout:g} s") from None
    outs = [folder / (p.stem + suffix) for p in files]
    missing = [o for o in outs if not o.exists()]
    if proc.returncode != 0 or missing:
        detail = (proc.stderr or proc.stdout or "").strip().splitlines()
        raise WorkbookError(
            f"LibreOffice failed to convert {', '.join(str(p) for p in files)} to {suffix} "
            f"(exit {proc.returncode}{': ' + detail[-1] if detail else ''})"
        )
    return outs


def recalculate_in_place(path: str | Path, timeout: float = 120.0) -> Path:
    """Recalculate ``path`` with LibreOffice and replace it atomically with the result."""
    path = Path(path)
    with tempfile.TemporaryDirectory(prefix="volarb-recalc-") as tmp:
        (out,) = recalculate([path], tmp, timeout=timeout)
        atomic_write_bytes(path, lambda dest: shutil.copyfile(out, dest))
    return path
