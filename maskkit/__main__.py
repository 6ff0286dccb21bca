import sys

from maskkit.cli import main

sys.exit(main())
