"""``python -m jbert_tf2.run_classifier``: the same command as ``jbert-run-classifier``."""

import sys

from jbert_tf2.cli.run_classifier import main

if __name__ == "__main__":
    sys.exit(main())
