"""Text: pure functions on strings used by both the build and the query side (fold, words, pairs, figures, places)."""
