""".doc, .wps and .rtf → .docx through LibreOffice headless, then read as a .docx.

Word 97–2003 and Kingsoft WPS files are OLE compound files whose text python-docx cannot read;
LibreOffice converts them faithfully, numbering included. One ``soffice`` call costs ~1.5 s of
start-up whatever it converts, so the indexer converts a build's files in one call
(:func:`convert_batch`) and hands each worker its .docx; a file read alone is converted alone.
Without LibreOffice each such file gets a message naming the package to install.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterable
from pathlib import Path

from kb.errors import LoadError
from kb.load.readers import Extracted

PACKAGE = "libreoffice-writer-nogui"  # Debian; the binary it installs is soffice
SUFFIXES = (".doc", ".wps", ".rtf")
TIMEOUT_BASE = 120.0  # seconds for one soffice call …
TIMEOUT_PER_FILE = 20.0  # … plus this per file converted


def soffice() -> str | None:
    """The LibreOffice binary, or ``None`` when it is not installed (``KB_SOFFICE`` overrides)."""
    forced = os.environ.get("KB_SOFFICE")
    if forced is not None:
        return shutil.which(forced) if forced else None
    return shutil.which("soffice") or shutil.which("libreoffice")


def missing_message(path: Path) -> str:
    return (f"reading {path.suffix.lower() or 'this'} files needs LibreOffice, which is not installed: "
            f"apt-get install {PACKAGE}")


def convert_batch(paths: Iterable[Path], out_dir: Path) -> dict[Path, Path]:
    """Convert files to .docx in one ``soffice`` call: {original path: .docx made of it}.

    Files it could not convert are left out of the answer (their reader then says so). Inputs are
    linked under unique names first: two ``报告.doc`` in different folders must not overwrite each
    other's output.
    """
    paths = list(paths)
    binary = soffice()
    if not paths or binary is None:
        return {}
    out_dir.mkdir(parents=True, exist_ok=True)
    inputs = out_dir / "in"
    inputs.mkdir(exist_ok=True)
    names: dict[Path, Path] = {}
    for k, path in enumerate(paths):
        link = inputs / f"f{k}{path.suffix.lower()}"
        try:
            os.link(path, link)
        except OSError:
            shutil.copyfile(path, link)
        names[path] = link
    profile = out_dir / "profile"  # its own profile: a user's running LibreOffice must not take the call
    cmd = [binary, "--headless", "--norestore", "--nologo", "--nolockcheck",
           f"-env:UserInstallation={profile.resolve().as_uri()}",
           "--convert-to", "docx:MS Word 2007 XML", "--outdir", str(out_dir)] + [str(p) for p in names.values()]
    try:
        subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                       timeout=TIMEOUT_BASE + TIMEOUT_PER_FILE * len(paths), check=False)
    except (subprocess.TimeoutExpired, OSError):
        pass  # whatever it finished is used; the rest report "could not convert"
    out: dict[Path, Path] = {}
    for path, link in names.items():
        made = out_dir / f"{link.stem}.docx"
        if made.is_file() and made.stat().st_size > 0:
            out[path] = made
    return out


def read_legacy(path: Path, converted: Path | None = None) -> Extracted:
    """Read a .doc/.wps/.rtf file through its .docx conversion (made now unless given)."""
    from kb.load.readers.docx import read_docx

    if converted is not None and converted.is_file():
        return _read_converted(path, converted, read_docx)
    if soffice() is None:
        raise LoadError(path, missing_message(path))
    with tempfile.TemporaryDirectory(prefix="kb-soffice-") as tmp:
        made = convert_batch([path], Path(tmp)).get(path)
        if made is None:
            raise LoadError(path, "corrupt file: LibreOffice could not convert it")
        return _read_converted(path, made, read_docx)


def _read_converted(path: Path, made: Path, read_docx) -> Extracted:
    try:
        return read_docx(made)
    except LoadError as exc:  # name the original file, not the temporary conversion
        raise LoadError(path, exc.reason) from exc
