"""The caps that keep one hostile or broken file from taking a build down with it.

A ZIP-based file (.docx, .ofd) is checked before anything is inflated: the sizes its central
directory declares, member by member and in total, and the compression ratio (a zip bomb declares
gigabytes from kilobytes). Reading then inflates each member through :func:`read_member`, which
stops at the declared size, so a lying directory cannot do more than a truthful one. Formats with
pages are refused beyond ``MAX_PAGES``.

>>> import io, zipfile
>>> buf = io.BytesIO()
>>> with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
...     z.writestr("word/document.xml", "0" * 300_000)
>>> check_zip(zipfile.ZipFile(buf), "bomb.docx", max_total=100_000)
Traceback (most recent call last):
...
kb.errors.LoadError: bomb.docx: ZIP content would unpack to 0.3 MB, over the 0.1 MB limit (zip bomb?)
"""

from __future__ import annotations

import zipfile

from kb.errors import LoadError

MAX_UNPACKED = 256 * 1024 * 1024  # all members together, uncompressed
MAX_MEMBER = 64 * 1024 * 1024  # one XML part: the text of a 2,000-page report is ~10 MB
MAX_RATIO = 200  # deflated XML compresses ~10–30×; a bomb ~1000×
MAX_PAGES = 2000


def check_zip(zf: zipfile.ZipFile, path: object, *, max_total: int | None = None,
              max_member: int | None = None) -> None:
    """Raise ``LoadError`` when the archive declares more than the caps allow."""
    max_total = MAX_UNPACKED if max_total is None else max_total
    max_member = MAX_MEMBER if max_member is None else max_member
    infos = zf.infolist()
    total = sum(i.file_size for i in infos)
    if total > max_total:
        raise LoadError(path, f"ZIP content would unpack to {total / 2**20:.1f} MB, over the "
                              f"{max_total / 2**20:.1f} MB limit (zip bomb?)")
    for info in infos:
        if info.file_size > max_member:
            raise LoadError(path, f"ZIP member {info.filename} would unpack to {info.file_size / 2**20:.1f} MB, "
                                  f"over the {max_member / 2**20:.1f} MB limit (zip bomb?)")
        if info.file_size > 1 << 20 and info.file_size > MAX_RATIO * max(info.compress_size, 1):
            raise LoadError(path, f"ZIP member {info.filename} is compressed {info.file_size // max(info.compress_size, 1)}:1 "
                                  f"(zip bomb?)")


def read_member(zf: zipfile.ZipFile, name: str, path: object, *, max_member: int | None = None) -> bytes:
    """One member's bytes, never more than the cap however the archive lies about sizes."""
    limit = MAX_MEMBER if max_member is None else max_member
    try:
        with zf.open(name) as fh:
            data = fh.read(limit + 1)
    except KeyError:
        raise LoadError(path, f"corrupt file: part {name} is missing") from None
    except (zipfile.BadZipFile, OSError, EOFError) as exc:  # CRC or inflate errors
        raise LoadError(path, f"corrupt file: cannot unpack {name} ({exc})") from exc
    if len(data) > limit:
        raise LoadError(path, f"ZIP member {name} unpacks to over {limit / 2**20:.1f} MB (zip bomb?)")
    return data


def check_pages(count: int, path: object, *, max_pages: int | None = None) -> None:
    """Raise ``LoadError`` for a document of more pages than kb reads."""
    limit = MAX_PAGES if max_pages is None else max_pages
    if count > limit:
        raise LoadError(path, f"{count} pages, over the {limit}-page limit")
