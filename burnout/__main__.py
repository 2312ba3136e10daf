import sys

from burnout.cli import main

sys.exit(main())
