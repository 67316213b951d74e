"""``python -m jbert_tf2.extract_features``: the same command as ``jbert-extract-features``."""

import sys

from jbert_tf2.cli.extract_features import main

if __name__ == "__main__":
    sys.exit(main())
