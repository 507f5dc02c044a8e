"""Chunk stage: :class:`kb.models.Document` → section tree + passages, and the document's facts (place, type, dates)."""
