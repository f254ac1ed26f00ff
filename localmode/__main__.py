"""`python -m localmode <command>`: see `localmode.run.main`."""

from localmode.run import main

raise SystemExit(main())
