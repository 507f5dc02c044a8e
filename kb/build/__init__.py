"""Build stage: a corpus folder → a new index version (plan, parallel workers, write, watch)."""
