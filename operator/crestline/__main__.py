"""``python -m crestline`` is the ``crestline`` command."""

import sys

from crestline.cli import main

sys.exit(main())
