"""``python -m kb.bench _phase SPEC OUT`` | ``_search SYSTEM INDEX QUERY``: the bench's child processes."""

import sys

from kb.bench.run import main

if __name__ == "__main__":
    main(sys.argv[1:])
