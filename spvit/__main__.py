import sys

from spvit.cli import main

sys.exit(main())
