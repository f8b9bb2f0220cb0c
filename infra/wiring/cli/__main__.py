"""`python -m infra.wiring.cli`."""

import sys

from infra.wiring.cli.main import main

sys.exit(main())
