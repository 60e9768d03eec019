"""@faas/sdk's unit tests (``sdk-ts/test/*.test.ts``: no node, no chain) run with the rest of the suite.

``receipt-vectors.test.ts`` runs in tests/attestations/test_vectors.py, beside the Python side of the vectors.
"""

from __future__ import annotations

import re
from pathlib import Path

from tests.node_tests import ROOT, run_node_tests

UNIT_TESTS = sorted(
    path.name for path in (ROOT / "sdk-ts" / "test").glob("*.test.ts") if path.name != "receipt-vectors.test.ts"
)


def test_the_typescript_sdk_unit_tests_pass() -> None:
    assert {"faas-client.test.ts", "faas-client-stream.test.ts", "tangle.test.ts"} <= set(UNIT_TESTS)
    report = run_node_tests(Path("sdk-ts"), {}, [f"test/{name}" for name in UNIT_TESTS], node_args=["--import", "tsx"])
    assert re.search(r"\bfail 0\b", report) and re.search(r"\bpass [1-9]", report), report
