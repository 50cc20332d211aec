"""The process-per-call baseline: a classic AGI script on pyst2, one process per call.

Asterisk's `AGI(script)` forks and execs a script per call and talks AGI over its stdin and
stdout; this is that script. It reads the agi_* headers (pyst2's `AGI()` does it, and installs
its SIGHUP handler, which is why it must be the main thread of its own process), then sends the
AGI command lines listed in the JSON file given as its only argument, one at a time, each
waiting for its reply: the same sequence hotline sends for the benchmark's walk.

    python bench/pyst2_agi.py COMMANDS.json    # stdin/stdout: AGI; stderr: pyst2's chatter
"""

import json
import sys

from asterisk.agi import AGI


def main() -> None:
    with open(sys.argv[1], encoding="utf-8") as file:
        commands = json.load(file)
    agi = AGI()
    for line in commands:
        agi.execute(line)  # the line as hotline sent it: verb and its quoted arguments


if __name__ == "__main__":
    main()
