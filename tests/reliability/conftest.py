"""The fault suite runs with `make test-reliability` (CRM_RELIABILITY=1), not with the unit and e2e suite: it
starts real processes and injects faults for a few minutes."""
from __future__ import annotations

import os

collect_ignore_glob = [] if os.environ.get("CRM_RELIABILITY") else ["test_*.py"]
