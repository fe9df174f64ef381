import sys

from movephys.vm.cli import main

sys.exit(main())
