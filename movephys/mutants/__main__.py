import sys

from movephys.mutants.cli import main

sys.exit(main())
