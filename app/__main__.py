"""`python -m app` is the `nn-playground` command."""

import sys

from app.cli import main

sys.exit(main())
