"""Runs the fake GOV.UK Notify as a process: `python tests/notify/fake_notify.py --port 8765`
(bench/cascade.py starts it so). The fake itself is the package `fake_notify/` beside this script;
`import tests.notify.fake_notify` finds that package, never this file."""

import sys
from pathlib import Path

if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    from tests.notify.fake_notify.cli import main

    sys.exit(main())
