"""The local-cluster test runs with `make test-cluster` (CRM_CLUSTER=1), not with the unit and e2e suite: it starts
nginx, PgBouncer, two API processes and two workers (deploy/local-cluster) for a couple of minutes."""
from __future__ import annotations

import os

collect_ignore_glob = [] if os.environ.get("CRM_CLUSTER") else ["test_*.py"]
