"""``python -m jbert_tf2.run_ner``: the same command as ``jbert-run-ner``."""

import sys

from jbert_tf2.cli.run_ner import main

if __name__ == "__main__":
    sys.exit(main())
