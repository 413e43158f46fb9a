"""``python -m skae``: the same command line as the ``skae`` script."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
