"""Store: the index folder on disk → version folders, CURRENT, manifest and checksums, and the files each holds."""
