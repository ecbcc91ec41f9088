import sys

from kamalnb.cli.main import main

sys.exit(main())
