"""Ingestion speed by file format: a few text documents turned into .docx (and, with LibreOffice,
.pdf and .doc), each loaded and chunked by kb, MB/s and pages/s per format."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from kb.errors import KbError
from kb.bench.common import Log

@dataclass
class FormatSpeed:
    """How fast kb reads one file format: files, their size and pages, and the seconds it took."""

    format: str
    files: int = 0
    mb: float = 0.0
    pages: int = 0
    seconds: float = 0.0
    failed: int = 0

    @property
    def mb_per_s(self) -> float:
        return self.mb / self.seconds if self.seconds else 0.0

    @property
    def pages_per_s(self) -> float:
        return self.pages / self.seconds if self.seconds else 0.0


FORMAT_SAMPLE = 8  # text documents turned into .docx (and, with LibreOffice, .pdf and .doc) per run


def format_samples(texts: list[Path], out: Path, log: Log | None = None) -> list[Path]:
    """The same documents in the office formats: .docx written with python-docx (title styled, one
    paragraph a line), then .pdf and .doc printed from it by LibreOffice when it is installed."""
    import docx

    from kb.load.loaders import load_document
    from kb.load.readers import legacy

    say = log or (lambda _msg: None)
    out.mkdir(parents=True, exist_ok=True)
    made: list[Path] = []
    for k, path in enumerate(texts[:FORMAT_SAMPLE]):
        try:
            doc = load_document(path, path.parent)
        except KbError:
            continue
        d = docx.Document()
        d.add_paragraph(doc.title, style="Title")
        for line in doc.body.split("\n"):
            if line.strip():
                d.add_paragraph(line.lstrip("#").strip())
        target = out / f"sample-{k}.docx"
        d.save(str(target))
        made.append(target)
    binary = legacy.soffice()
    if binary is None:
        say("LibreOffice not installed: no .pdf/.doc samples (apt-get install libreoffice-writer-nogui)")
        return made
    for fmt in ("pdf", "doc"):
        profile = out / f".profile-{fmt}"
        try:
            subprocess.run([binary, "--headless", "--norestore", f"-env:UserInstallation={profile.resolve().as_uri()}",
                            "--convert-to", fmt, "--outdir", str(out)] + [str(p) for p in made if p.suffix == ".docx"],
                           stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                           timeout=300, check=False)
        except (subprocess.TimeoutExpired, OSError) as exc:
            say(f"LibreOffice could not make .{fmt} samples: {exc}")
        shutil.rmtree(profile, ignore_errors=True)
        made += sorted(out.glob(f"sample-*.{fmt}"))
    return made


def ingest_by_format(files: list[Path]) -> list[FormatSpeed]:
    """Time :func:`kb.load.loaders.load_document` + :func:`kb.chunk.chunker.chunk` on each file, grouped by suffix.

    .doc/.wps/.rtf are timed as a build reads them: one LibreOffice batch conversion (its time
    shared among them) and the read of each converted file.
    """
    from kb.chunk.chunker import chunk
    from kb.load.loaders import load_document
    from kb.load.readers import legacy

    speeds: dict[str, FormatSpeed] = {}
    olds = [f for f in files if f.suffix.lower() in legacy.SUFFIXES]
    converted: dict[Path, Path] = {}
    convert_s = 0.0
    tmp = Path(tempfile.mkdtemp(prefix="kb-bench-convert-"))
    try:
        if olds and legacy.soffice():
            t0 = time.perf_counter()
            converted = legacy.convert_batch(olds, tmp)
            convert_s = time.perf_counter() - t0
        for path in files:
            fmt = path.suffix.lower().lstrip(".") or "(none)"
            row = speeds.setdefault(fmt, FormatSpeed(fmt))
            t0 = time.perf_counter()
            try:
                chunk(load_document(path, path.parent, converted=converted.get(path)))
            except KbError:
                row.failed += 1
                continue
            row.seconds += time.perf_counter() - t0
            if path in converted:
                row.seconds += convert_s / len(converted)
            row.files += 1
            row.mb += path.stat().st_size / 2**20
            row.pages += _pages(path)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return sorted(speeds.values(), key=lambda f: f.format)


def _pages(path: Path) -> int:
    """Pages of a PDF or OFD file (0 for the formats without pages)."""
    import pypdfium2 as pdfium

    from kb.errors import LoadError

    try:
        if path.suffix.lower() == ".pdf":
            pdf = pdfium.PdfDocument(str(path))
            try:
                return len(pdf)
            finally:
                pdf.close()
        if path.suffix.lower() == ".ofd":
            from kb.load.readers.ofd import read_ofd

            return read_ofd(path).pages
    except (LoadError, OSError, pdfium.PdfiumError):
        return 0
    return 0
