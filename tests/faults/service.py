"""`python -m tests.faults.service watcher|worker ARGS…`: an alloop service with fault hooks installed."""

import sys

from tests.faults.inject import install

if __name__ == "__main__":
    install(sys.argv[1])
    sys.argv = ["alloop", *sys.argv[1:]]
    from cli import main

    main()
