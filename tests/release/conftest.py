"""tests/release/test_systemd_unit.py boots a container and takes minutes: collected only when
asked for (HOTLINE_SYSTEMD_TEST=1), and then run on its own (it holds the stack's lock)."""

from __future__ import annotations

import os

collect_ignore = [] if os.environ.get("HOTLINE_SYSTEMD_TEST") == "1" else ["test_systemd_unit.py"]
