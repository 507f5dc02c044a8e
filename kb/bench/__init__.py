"""``kb bench``: build, incremental rebuild, query latency, cold start and memory for kb and two baselines.

One run measures three systems on the same corpus copy and the same query set:

- **kb**: :func:`kb.build.indexer.build_index` and :meth:`kb.search.KnowledgeBase.search` (whatever they
  currently are: only the public functions are called);
- **naive**: jieba's stock ``jieba.analyse.ChineseAnalyzer`` in a plain Whoosh schema (``id`` +
  stored ``content``), one index document per non-empty line, Whoosh's default ``QueryParser`` and
  default highlighter;
- **fts5**: SQLite FTS5 with the ``trigram`` tokenizer over kb's own passages
  (:func:`kb.load.loaders.load_document` + :func:`kb.chunk.chunker.chunk`), ``snippet()`` for highlighting.

Every build and query phase runs in a child process (``python -m kb.bench _phase SPEC OUT``) so its
peak memory is its own and the parent stays small; cold start runs the real command line.
The result is a :class:`BenchReport`: a text table (ratios are the headline), JSON and Markdown.

The package, a module per step:

=====================  ===========================================================================
``kb.bench.common``    the systems, fixed query and edit, repository folder
``kb.bench.inputs``    corpus (whole or ``--quick`` sample), query files, the corpus copy, the edit
``kb.bench.systems``   kb, naive Whoosh and FTS5: each one's build and opener
``kb.bench.phases``    child processes per phase, peak memory over the process tree
``kb.bench.timing``    query latency (p50/p95) and cold start
``kb.bench.formats``   ingestion speed by file format (.txt, .docx, .pdf, .doc)
``kb.bench.report``    results, the ratio table, text/JSON/Markdown
``kb.bench.run``       the whole run (:func:`run_bench`) and ``python -m kb.bench``'s entry points
=====================  ===========================================================================

>>> percentile([1.0, 2.0, 3.0, 4.0], 50)
2.5
>>> [(c.alts, c.negated) for c in parse_simple_query('交通 "重点工程" -太龙 公交 OR 出租车')]
[(['交通'], False), (['重点工程'], False), (['太龙'], True), (['公交', '出租车'], False)]
"""

from kb.bench.common import COLD_QUERY, QUICK_SAMPLE, SYSTEMS, TOP_K, BenchError
from kb.bench.formats import FormatSpeed, format_samples, ingest_by_format
from kb.bench.inputs import (change_one_file, copy_corpus, default_corpus, default_query_files, dir_size_mb,
                             load_queries, read_query_file)
from kb.bench.report import ROWS, BenchReport, PhaseResult, Row, SystemResult, percentile
from kb.bench.run import machine_info, run_bench, write_reports
from kb.bench.systems import (BUILDERS, OPENERS, fts5_sql, like_snippet, open_kb, parse_simple_query,
                              sqlite_has_trigram)
from kb.bench.timing import cold_command, cold_start, query_phase

__all__ = ["BUILDERS", "COLD_QUERY", "OPENERS", "QUICK_SAMPLE", "ROWS", "SYSTEMS", "TOP_K", "BenchError",
           "BenchReport", "FormatSpeed", "PhaseResult", "Row", "SystemResult", "change_one_file", "cold_command",
           "cold_start", "copy_corpus", "default_corpus", "default_query_files", "dir_size_mb", "format_samples",
           "ingest_by_format", "like_snippet", "load_queries", "machine_info", "open_kb", "parse_simple_query",
           "percentile", "query_phase", "read_query_file", "run_bench", "sqlite_has_trigram", "fts5_sql",
           "write_reports"]
