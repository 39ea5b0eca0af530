"""``python -m loopbound``: the ``loopbound`` command line (:func:`loopbound.cli.main`)."""

import sys

from loopbound.cli import main

if __name__ == "__main__":
    sys.exit(main())
