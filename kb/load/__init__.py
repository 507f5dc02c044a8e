"""Load stage: a corpus file → :class:`kb.models.Document` (decode, sniff, strip chrome, read office formats)."""
