"""The stack session shares one database, and routing offers a returning caller the agent
who answered them first: a caller number two stack modules both use makes the later module's
routing depend on the earlier one (seen in CI: the seat features' citizen was rung at the
district test's agent first). Each module keeps its callers to itself."""

from __future__ import annotations

import re
from collections import defaultdict

from tests.conftest import REPO

NUMBER = re.compile(r"""["'](1[3-9]\d{9})["']""")  # a mobile number as a whole literal


def test_no_caller_number_is_used_by_two_stack_modules() -> None:
    modules: dict[str, set[str]] = defaultdict(set)
    for path in sorted((REPO / "tests" / "stack").glob("test_*.py")):
        for number in NUMBER.findall(path.read_text(encoding="utf-8")):
            modules[number].add(path.name)
    shared = {n: sorted(m) for n, m in modules.items() if len(m) > 1}
    assert shared == {}, f"give each module its own callers: {shared}"
    assert modules, "no caller numbers found: the pattern no longer matches the stack tests"
