import sys

from mcodec.compiler.cli import main

sys.exit(main())
