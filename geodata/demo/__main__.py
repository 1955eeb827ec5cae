"""``python -m geodata.demo build``: rebuild the shipped demo files (:mod:`geodata.demo.build`)."""

import sys

from geodata.demo.build import main

sys.exit(main())
