"""kb: a searchable knowledge base for Chinese official documents.

The pipeline, one module per stage::

    corpus/*.txt|md|html --loaders--> Document --chunker--> Section tree + Passages
        --analysis/ngrams/textindex/indexer--> index/ (postings in numpy segments, passages in
        Whoosh) --query/search/highlight--> SearchResult
        --> kb CLI (kb/cli.py) and the Flask app (web/)
"""

__version__ = "0.1.0"
