"""The mutation smoke (issue 21): scripts/mutation over the outcome rule, the smallest pure
core, against its table test. Every one-line mutant of ivr/outcome.py must make a test fail,
or be listed in docs/TESTING.md with the reason it is equivalent; a new rule without a test,
or a test loosened, turns this red. The other cores run by hand (scripts/mutation MODULE)."""

from __future__ import annotations

import re
import subprocess

from tests.conftest import REPO


def test_no_mutant_of_the_outcome_rule_survives_unexplained() -> None:
    done = subprocess.run(
        [str(REPO / "scripts" / "mutation"), "ivr/outcome.py"],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=600,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    score = re.search(r"^ivr/outcome\.py: (\d+)/(\d+) mutants killed", done.stdout, re.M)
    assert score, done.stdout
    killed, total = int(score[1]), int(score[2])
    # the equivalent ones are listed, each on its own line; the rest were all killed
    listed = done.stdout.count("equivalent (docs/TESTING.md)")
    assert total > 0 and killed + listed == total, done.stdout
