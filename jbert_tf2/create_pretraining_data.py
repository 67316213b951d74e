"""``python -m jbert_tf2.create_pretraining_data``: the same command as
``jbert-create-pretraining-data`` (Google's script name)."""

import sys

from jbert_tf2.cli.create_pretraining_data import main

if __name__ == "__main__":
    sys.exit(main())
