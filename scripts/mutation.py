"""Mutation testing of hotline's pure cores with mutmut (issue 21).

For one module (or all of them) this copies the work tree to a scratch folder, lets mutmut make
its one-line mutants of that module and run the module's unit/protocol tests against each, and
prints every mutant that no test killed. A survivor is *explained* when docs/TESTING.md lists it
as a bullet starting with its name in backticks, with the reason it is equivalent; any other
survivor (or a mutant no test reaches) makes the exit status 1.

The scratch copy keeps mutmut's `mutants/` folder and cache out of the work tree, so two runs
(two modules, two engineers) never share state, and the work tree is never mutated on disk."""

from __future__ import annotations

import argparse
import ast
import difflib
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
TESTING_DOC = REPO / "docs" / "TESTING.md"
PACKAGES = ("ivr", "routing", "recordings", "hotline")

# Each pure core and the narrowest test files that exercise it (the machine is shared: a wider
# selection costs every mutant a longer run). `--all-tests` uses tests/unit and tests/protocol.
CORES: dict[str, tuple[str, ...]] = {
    "ivr/outcome.py": ("tests/unit/test_outcome.py",),
    "hotline/supervisor/kpi.py": ("tests/unit/test_kpi.py", "tests/unit/test_kpi_edges.py"),
    "routing/router.py": (
        "tests/unit/test_router.py",
        "tests/unit/test_router_overflow.py",
        "tests/unit/test_router_reference.py",
    ),
    "routing/presence.py": (
        "tests/unit/test_router.py",
        "tests/unit/test_router_overflow.py",
        "tests/unit/test_auto_pause.py",
        "tests/unit/test_presence.py",
    ),
    "ivr/interpreter.py": (
        "tests/unit/test_interpreter.py",
        "tests/unit/test_dtmf_flood.py",
        "tests/unit/test_say_hours.py",
    ),
    "hotline/supervisor/scoring.py": (
        "tests/unit/test_supervisor_scoring_kpi.py",
        "tests/unit/test_scoring_sheet.py",
        "tests/unit/test_supervisor_scores.py",
    ),
    "hotline/surveys/policy.py": (
        "tests/unit/test_surveys.py",
        "tests/unit/test_survey_policy_edges.py",
    ),
    "recordings/retention.py": (
        "tests/unit/test_recordings_pipeline.py",
        "tests/unit/test_retention_edges.py",
    ),
    # the matters' status rule, due times in working hours and overdue alerts
    "hotline/matters/lifecycle.py": ("tests/unit/test_matter_lifecycle.py",),
    # the web's scope tests log in with hashed passwords: minutes per mutant on this machine
    "hotline/supervisor/scope.py": ("tests/unit/test_scope_edges.py",),
}
# mutmut's verdicts that mean no test noticed the mutant
UNNOTICED = ("survived", "no tests")
RESULT_LINE = re.compile(r"^\s*(?P<name>[\w.]+__mutmut_\d+): (?P<status>.+?)\s*$")
EXPLAINED_LINE = re.compile(r"^\s*- `(?P<name>[\w.]+__mutmut_\d+)`")


def mutmut_config(module: str, tests: tuple[str, ...], others: list[str]) -> str:
    """The [tool.mutmut] table for one module (TOML lists written as JSON-style arrays).
    `others`: the tree's other top-level files and folders, which mutmut copies beside the
    packages (tests read config/, dialplans/, README.md ... relative to the tree)."""
    quoted = ", ".join(f'"{t}"' for t in tests)
    return f"""
[tool.mutmut]
source_paths = [{", ".join(f'"{p}"' for p in PACKAGES)}]
also_copy = [{", ".join(f'"{o}"' for o in others)}]
only_mutate = ["{module}"]
# pytest's own addopts (--durations) would print a table per mutant; the cache is per run
pytest_add_cli_args = ["-p", "no:cacheprovider", "-q", "-o", "addopts=--strict-markers"]
pytest_add_cli_args_test_selection = [{quoted}]
use_git_change_detection = false
"""


def scratch_copy(into: Path) -> None:
    """The work tree as it is on disk (tracked and new files, not .venv or caches)."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"],
        cwd=REPO,
        capture_output=True,
        check=True,
    ).stdout
    for name in filter(None, listed.decode().split("\0")):
        source = REPO / name
        if source.is_file():
            (into / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, into / name)


def explained_survivors() -> set[str]:
    if not TESTING_DOC.exists():
        return set()
    lines = TESTING_DOC.read_text(encoding="utf-8").splitlines()
    return {m["name"] for m in map(EXPLAINED_LINE.match, lines) if m}


def mutant_changes(mutated: Path, names: set[str]) -> dict[str, str]:
    """Each of `names` (mutant functions in mutmut's copy of the module) -> its changed lines
    ("- old => + new"), diffed against the function's original, in one process (`mutmut show`
    starts mutmut once per mutant: seconds apiece on a busy machine)."""
    lines = mutated.read_text(encoding="utf-8").splitlines()
    functions = {
        node.name: lines[node.lineno : node.end_lineno]  # the body: the def line names it
        for node in ast.walk(ast.parse("\n".join(lines)))
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and "__mutmut_" in node.name
    }
    changes = {}
    for name in names:
        original = functions.get(name.rsplit("__mutmut_", 1)[0] + "__mutmut_orig")
        if original is None or name not in functions:
            continue
        diff = difflib.unified_diff(original, functions[name], lineterm="", n=0)
        changed = [d for d in diff if d[:1] in "+-" and not d.startswith(("+++", "---"))]
        changes[name] = " => ".join(" ".join(d.split()) for d in changed)
    return changes


def mutate(module: str, tests: tuple[str, ...], keep: bool) -> tuple[int, dict[str, str]]:
    """mutmut over one module: the number of mutants and the verdict of each unnoticed one."""
    work = Path(tempfile.mkdtemp(prefix="hotline-mutation-"))
    try:
        scratch_copy(work)
        with (work / "pyproject.toml").open("a", encoding="utf-8") as config:
            skip = {*PACKAGES, "tests", "pyproject.toml"}  # copied by mutmut anyway
            others = sorted(p.name for p in work.iterdir() if p.name not in skip)
            config.write(mutmut_config(module, tests, others))
        mutmut = Path(sys.executable).with_name("mutmut")
        run = subprocess.run(
            [str(mutmut), "run", "--max-children", "1"], cwd=work, capture_output=True, text=True
        )
        if run.returncode != 0:
            sys.exit(f"scripts/mutation: mutmut failed on {module}:\n{run.stdout[-3000:]}")
        listed = subprocess.run(
            [str(mutmut), "results", "--all", "true"],
            cwd=work,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        matches = map(RESULT_LINE.match, listed.splitlines())
        verdicts = {m["name"]: m["status"] for m in matches if m}
        unnoticed = {n: s for n, s in verdicts.items() if s in UNNOTICED}
        short = {name.rsplit(".", 1)[-1] for name in unnoticed}
        changes = mutant_changes(work / "mutants" / module, short)
        for name in unnoticed:
            unnoticed[name] = f"{unnoticed[name]}: {changes.get(name.rsplit('.', 1)[-1], '?')}"
        return len(verdicts), unnoticed
    finally:
        if keep:
            print(f"scratch copy kept in {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser(
        prog="scripts/mutation",
        description="Mutation-test hotline's pure cores (mutmut) against their unit tests; "
        "fails on any survivor docs/TESTING.md does not explain.",
    )
    parser.add_argument(
        "modules", nargs="*", metavar="MODULE", help=f"a file among: {', '.join(CORES)} (all)"
    )
    parser.add_argument(
        "--all-tests", action="store_true", help="run tests/unit and tests/protocol for each"
    )
    parser.add_argument("--keep", action="store_true", help="keep the scratch copy (to debug)")
    args = parser.parse_args()
    unknown = [m for m in args.modules if m not in CORES]
    if unknown:
        parser.error(f"not a pure core: {', '.join(unknown)} (choose among {', '.join(CORES)})")
    explained = explained_survivors()
    failed = False
    for module in args.modules or list(CORES):
        tests = ("tests/unit", "tests/protocol") if args.all_tests else CORES[module]
        tests = tuple(t for t in tests if (REPO / t).exists())
        total, unnoticed = mutate(module, tests, args.keep)
        killed = total - len(unnoticed)
        score = 100.0 * killed / total if total else 100.0
        print(f"{module}: {killed}/{total} mutants killed ({score:.1f}%)")
        for name, what in sorted(unnoticed.items()):
            mark = "equivalent (docs/TESTING.md)" if name in explained else "UNEXPLAINED"
            failed = failed or name not in explained
            print(f"  {mark}: {name} {what}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
