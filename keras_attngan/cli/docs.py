"""Writes docs/cli.md from the commands' own `--help`, so that the page cannot drift.

    python -m keras_attngan.cli.docs docs/cli.md

tests/test_cli.py fails when docs/cli.md differs from what this writes.
"""

import os
import subprocess
import sys

from keras_attngan.cli.main import COMMANDS, usage

_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

HEADER = """# The `attngan` command

Generated from the flag definitions by `python -m keras_attngan.cli.docs docs/cli.md`
(tests/test_cli.py checks that it is current): each section is the command's `--help`.

Every command is quiet by default (`-v` shows TensorFlow's logging), checks its flags,
paths and config before any work starts (before TensorFlow is imported), and refuses a bad
input with one line naming the flag or the full config key, exit code 2. A run that fails
for a reason it can name (a diverged run, a damaged file) says so in one line, exit code 1;
a warning is one line. Only a bug prints a traceback (every failure does with `--verbose`).
"""


def command_help(command):
    """`attngan COMMAND --help`, in a process of its own: absl flags are global."""
    path = os.pathsep.join(filter(None, [_ROOT, os.environ.get("PYTHONPATH")]))
    env = dict(os.environ, PYTHONPATH=path)
    return subprocess.run(
        [sys.executable, "-m", "keras_attngan.cli.main", command, "--help"],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    ).stdout


def render():
    """The text of docs/cli.md."""
    parts = [HEADER, "```text", usage(), "```", ""]
    for command in COMMANDS:
        parts += [f"## attngan {command}", "", "```text", command_help(command).rstrip(), "```", ""]
    return "\n".join(parts)


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python -m keras_attngan.cli.docs OUT.md")
    with open(sys.argv[1], "w") as f:
        f.write(render())
