"""Engine: passages → numpy segments + Whoosh table, and a compiled query → scored, counted, faceted rows."""
