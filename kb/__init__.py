"""kb: a searchable knowledge base for Chinese official documents.

The pipeline, one package per stage::

    corpus/*.txt|md|html|docx|pdf|ofd --kb.load--> Document --kb.chunk--> Section tree + Passages
        --kb.build (kb.text, kb.engine)--> index/ (kb.store: postings in numpy segments, passages in
        Whoosh) --kb.query, kb.search--> SearchResult
        --> kb CLI (kb/cli.py) and the Flask app (web/)
"""

__version__ = "0.1.0"
