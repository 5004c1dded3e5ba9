"""``python -m zeroclass``: the same as the ``zeroclass`` command."""

import sys

from .cli import main

sys.exit(main())
