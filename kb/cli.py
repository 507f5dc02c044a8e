"""The ``kb`` command: thin click commands over the library functions.

``kb build`` → :func:`kb.build.indexer.build_index`; ``kb search``/``docs``/``toc`` → :class:`kb.search.KnowledgeBase`;
``kb eval`` → :func:`kb.evaluate.evaluate`; ``kb serve`` → waitress over :func:`web.create_app`;
``kb bench`` → :func:`kb.bench.run_bench`. Library errors (:mod:`kb.errors`) become
``click.ClickException`` here and nowhere else.
"""

from __future__ import annotations

import functools
import json
import os
import sys
import time
from pathlib import Path

import click

from kb.errors import BuildFailedError, KbError

DEFAULT_INDEX = "index"
DEFAULT_CORPUS = "corpus"


def _index_option(f):
    return click.option("--index", "index_dir", type=click.Path(file_okay=False, path_type=Path),
                        default=lambda: os.environ.get("KB_INDEX", DEFAULT_INDEX), show_default="index or $KB_INDEX",
                        help="Index folder.")(f)


def _follow_option(f):
    return click.option("--follow-outside-links", is_flag=True, envvar="KB_FOLLOW_OUTSIDE_LINKS",
                        help="Read what symbolic links lead to outside the corpus folders (refused by "
                             "default: anyone who can add a link could publish any file kb can read). "
                             "Also $KB_FOLLOW_OUTSIDE_LINKS=1.")(f)


def _kb_errors(f):
    @functools.wraps(f)
    def wrapper(*args, **kwargs):
        try:
            return f(*args, **kwargs)
        except KbError as exc:
            raise click.ClickException(str(exc)) from exc

    return wrapper


def _echo_json(data: object) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2))


@click.group()
@click.version_option(package_name="kb")
def main() -> None:
    """kb: search Chinese official documents by passage, with section paths and permalinks."""


@main.command()
@click.option("--corpus", "corpus_dirs", multiple=True, type=click.Path(file_okay=False, path_type=Path),
              help="Corpus folder (repeatable). Default: corpus or $KB_CORPUS.")
@_index_option
@click.option("--full", is_flag=True, help="Rebuild everything instead of only what changed.")
@click.option("--strict", is_flag=True, help="Fail, swapping nothing in, if any file cannot be read.")
@click.option("--wait", is_flag=True, help="Wait for another running build instead of refusing.")
@click.option("--workers", type=int, default=None, help="Worker processes for analysis (default: CPUs).")
@click.option("--quiet", "-q", is_flag=True, help="No progress lines.")
@_follow_option
@click.option("--debug-pause", metavar="MOMENT:SECONDS", default=None, hidden=True,
              help="Sleep SECONDS at MOMENT of the build (commit): lets crash tests kill it there.")
@_kb_errors
def build(corpus_dirs: tuple[Path, ...], index_dir: Path, full: bool, strict: bool, wait: bool,
          workers: int | None, quiet: bool, follow_outside_links: bool, debug_pause: str | None) -> None:
    """Build or update the index from the corpus folders (incremental unless --full)."""
    from kb.build.indexer import build_index
    from kb.load.files import printable_path

    roots = list(corpus_dirs) or [Path(p) for p in os.environ.get("KB_CORPUS", DEFAULT_CORPUS).split(os.pathsep)]
    state = {"last": 0.0}
    tty = sys.stderr.isatty()

    def progress(done: int, total: int, path: str) -> None:
        now = time.monotonic()
        if quiet or (now - state["last"] < (0.2 if tty else 2.0) and done != total):
            return
        state["last"] = now
        line = f"[{done}/{total}] {done * 100 // max(total, 1)}% {printable_path(Path(path).name)}"
        click.echo(("\r" + line[:100].ljust(100)) if tty else line, err=True, nl=not tty)
        if tty and done == total:
            click.echo("", err=True)

    try:
        report = build_index(roots, index_dir, full=full, strict=strict, workers=workers, progress=progress,
                             wait=wait, follow_outside_links=follow_outside_links,
                             pause=_debug_pause(debug_pause))
    except BuildFailedError as exc:
        raise click.ClickException(f"{exc}\nnothing was swapped in; the index being served is unchanged") from exc
    for err in report.errors:  # paths are printable already: a newline in a name cannot start a line
        click.echo(f"{'error' if err.failed else 'note'}: {err.path}: {err.reason}", err=True)
    click.echo(report.summary(), err=True)
    if report.failures:
        sys.exit(1)


def _debug_pause(spec: str | None):
    """``--debug-pause commit:5`` → a ``pause(moment)`` sleeping 5 s at the commit (``None``: no pause).

    >>> _debug_pause(None) is None, _debug_pause("commit:0")("swap")
    (True, None)
    """
    if not spec:
        return None
    moment, _, seconds = spec.partition(":")
    try:
        delay = float(seconds or 5)
    except ValueError:
        raise click.BadParameter(f"{spec!r} is not MOMENT:SECONDS", param_hint="--debug-pause") from None

    def pause(at: str) -> None:
        if at == moment:
            time.sleep(delay)
    return pause


@main.command()
@_index_option
@_kb_errors
def check(index_dir: Path) -> None:
    """Verify the served index version file by file (sizes and SHA-1 checksums); exit 1 when damaged."""
    from kb.store.manifest import check_index

    name, damage = check_index(index_dir)
    for line in damage:
        click.echo(f"damaged: {line}", err=True)
    if damage:
        click.echo(f"index version {name} is damaged ({len(damage)} file(s)): run `kb build` to rebuild it", err=True)
        sys.exit(1)
    click.echo(f"index version {name}: every file whole", err=True)


@main.command("search")
@click.argument("query")
@_index_option
@click.option("--limit", type=click.IntRange(1, 100), default=10, show_default=True)
@click.option("--page", type=click.IntRange(1, 100), default=1, show_default=True)
@click.option("--doc", "doc_id", default=None, help="Only this document.")
@click.option("--json", "as_json", is_flag=True, help="Print the API's JSON.")
@_kb_errors
def search_cmd(query: str, index_dir: Path, limit: int, page: int, doc_id: str | None, as_json: bool) -> None:
    """Search passages; prints rank, document › section path and the passage."""
    from kb.search import KnowledgeBase

    result = KnowledgeBase(index_dir).search(query, page=page, doc=doc_id, page_size=limit)
    if as_json:
        _echo_json(result.to_json())
        return
    if result.notice:
        click.echo(result.notice)
    if result.partial:
        click.echo("没有同时包含所有词的段落，以下为部分匹配 / no passage has every term: partial matches")
    click.echo(f"{result.total} passages ({result.took_ms:.1f} ms)")
    for hit in result.hits:
        path = " › ".join((hit.doc_title,) + hit.section_path)
        click.echo(f"\n{hit.rank}. {path}  [{hit.passage_id}]")
        click.echo("   " + hit.text[:300].replace("\n", " "))


@main.command()
@_index_option
@click.option("--json", "as_json", is_flag=True)
@_kb_errors
def docs(index_dir: Path, as_json: bool) -> None:
    """List indexed documents."""
    from kb.search import KnowledgeBase

    rows = KnowledgeBase(index_dir).docs()
    if as_json:
        _echo_json(rows)
        return
    for d in rows:
        click.echo(f"{d['doc_id']}\t{d['date'] or '-'}\t{d['passages']}\t{d['title']}")


@main.command()
@click.argument("doc_id")
@_index_option
@click.option("--json", "as_json", is_flag=True)
@_kb_errors
def toc(doc_id: str, index_dir: Path, as_json: bool) -> None:
    """Show a document's table of contents (repaired markers flagged)."""
    from kb.search import KnowledgeBase

    data = KnowledgeBase(index_dir).toc(doc_id)
    if as_json:
        _echo_json(data)
        return
    click.echo(f"{data['title']}  ({data['date'] or 'no date'})")

    def show(sections: list[dict], depth: int) -> None:
        for s in sections:
            flag = "  [repaired]" if s["repaired"] else ""
            label = "(preface)" if s.get("preface") else f"{s['number']} {s['title']}".strip()
            click.echo(f"{'  ' * depth}{label}  #{s['anchor']}{flag}")
            show(s["children"], depth + 1)

    show(data["sections"], 1)


@main.command("eval")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@_index_option
@click.option("--json", "as_json", is_flag=True)
@click.option("--without", default="", metavar="NAMES",
              help="Switch query mechanisms off, comma-separated: years, plans, places, soft, synonyms, figures, "
                   "spelling, pinyin, proximity, meta_exclusion (to measure what each one gives).")
@_kb_errors
def eval_cmd(file: Path, index_dir: Path, as_json: bool, without: str) -> None:
    """Score search quality on QUERY<TAB>EXPECTED lines: hit@1, hit@3, MRR."""
    from kb.evaluate import evaluate
    from kb.search import KnowledgeBase
    from kb.query.understand import SearchOptions

    kb = KnowledgeBase(index_dir, options=SearchOptions.without(without))
    report = evaluate(file, lambda q: kb.search(q))
    if as_json:
        _echo_json(report.to_json())
        return
    for miss in report.misses:
        where = "not found" if miss["rank"] is None else f"rank {miss['rank']}"
        click.echo(f"miss ({where}): {miss['query']}\texpected {miss['expected']}\ttop: {miss['top']}")
    click.echo(report.summary())


@main.command()
@_index_option
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind (0.0.0.0 opens it up).")
@click.option("--port", type=int, default=8000, show_default=True)
@click.option("--threads", type=int, default=8, show_default=True)
@click.option("--watch", is_flag=True, help="Rebuild incrementally in the background when corpus files change.")
@click.option("--corpus", "corpus_dirs", multiple=True, type=click.Path(file_okay=False, path_type=Path),
              help="Corpus folder to watch (repeatable). Default: corpus or $KB_CORPUS.")
@click.option("--interval", type=click.FloatRange(0.2, 3600), default=2.0, show_default=True,
              help="Seconds between looks at the corpus (--watch).")
@click.option("--public-url", default=None, envvar="KB_PUBLIC_URL",
              help="The address colleagues open (e.g. https://kb.example.org); copied links and citations use it.")
@_follow_option
@_kb_errors
def serve(index_dir: Path, host: str, port: int, threads: int, watch: bool, corpus_dirs: tuple[Path, ...],
          interval: float, public_url: str | None, follow_outside_links: bool) -> None:
    """Serve the search UI and JSON API with waitress (never Flask's debug server)."""
    if public_url and not public_url.startswith(("http://", "https://")):
        raise click.BadParameter("must start with http:// or https://", param_hint="--public-url")
    from kb.store.manifest import current_version
    from web import create_app
    from web.serve import serve as serve_app

    config: dict = {"KB_INDEX": str(index_dir)}
    watcher = None
    if watch:
        from kb.build.watch import CorpusWatcher

        roots = list(corpus_dirs) or [Path(p) for p in os.environ.get("KB_CORPUS", DEFAULT_CORPUS).split(os.pathsep)]
        for root in roots:
            if not root.is_dir():
                raise click.ClickException(f"corpus folder not found: {root}")
        watcher = CorpusWatcher(roots, index_dir, interval=interval, log=lambda m: click.echo(m, err=True),
                                follow_outside_links=follow_outside_links)
        if current_version(index_dir, required=False) is None:
            watcher.build()  # the first build before serving: the pages need an index
        config["KB_WATCHER"] = watcher.start()
        click.echo(f"kb: watching {', '.join(map(str, roots))} (every {interval:g} s)", err=True)
    current_version(index_dir)  # fail early and clearly when there is no index
    config["KB_PUBLIC_URL"] = (public_url or "").rstrip("/")
    app = create_app(config)
    click.echo(f"kb: serving {index_dir} on http://{host}:{port}/  (Ctrl+C to stop)", err=True)
    try:
        serve_app(app, host=host, port=port, threads=threads)
    finally:
        if watcher is not None:
            watcher.stop()


@main.command()
@click.option("--corpus", "corpus_dirs", multiple=True, type=click.Path(file_okay=False, path_type=Path),
              help="Corpus folder (repeatable). Default: ../shared/corpora/lawtext-gov, else corpus.")
@click.option("--queries", "query_files", multiple=True,
              type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Query file (repeatable; .tsv: first column). Default: seed + tests/*.tsv + kb's fixed list.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=Path("bench-results"),
              show_default=True, help="Folder for the JSON and Markdown reports.")
@click.option("--quick", is_flag=True, help="Small corpus (a sample of lawtext-gov files), one timed pass.")
@click.option("--sample", type=click.IntRange(0), default=None,
              help="Use an evenly spread sample of N corpus files (0: all).")
@click.option("--skip-baselines", is_flag=True, help="Measure kb only.")
@click.option("--repeat", type=click.IntRange(1, 100), default=None,
              help="Timed passes over the query set (default 3, 1 with --quick).")
@click.option("--workers", type=click.IntRange(1), default=None, help="Passed to kb's build (default: kb's own).")
@_kb_errors
def bench(corpus_dirs: tuple[Path, ...], query_files: tuple[Path, ...], out_dir: Path, quick: bool,
          sample: int | None, skip_baselines: bool, repeat: int | None, workers: int | None) -> None:
    """Measure build, incremental build, query latency, cold start and memory against two baselines."""
    from kb.bench import run_bench

    report = run_bench(corpus_dirs=list(corpus_dirs), query_files=list(query_files), out_dir=out_dir, quick=quick,
                       sample=sample, skip_baselines=skip_baselines, repeat=repeat, workers=workers,
                       log=lambda msg: click.echo(f"[{time.strftime('%H:%M:%S')}] {msg}", err=True))
    click.echo(report.table())
    if report.formats:
        click.echo("\n" + report.formats_table())
    click.echo(f"\nreports: {report.json_path}  {report.md_path}")
    if report.failed:
        sys.exit(1)


if __name__ == "__main__":  # pragma: no cover
    main()
