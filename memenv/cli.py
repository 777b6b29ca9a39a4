"""The ``memenv`` command: one entry point for everything memenv runs from a shell.

    memenv train [OPTIONS]              GRPO (with an SFT warm start) for a memory writer (memenv.train)
    memenv eval [OPTIONS]               every baseline (and your own systems) on the synthetic suite or a
                                        dataset: tables, JSON, per-question predictions, charts
    memenv leaderboard [OPTIONS]        the same command as memenv eval
    memenv inspect PATH --source S      what a dataset file turns into
    memenv view RUN.jsonl -o episode.html   a recorded episode as one offline HTML page
    memenv --version

Each subcommand hands its arguments to the module that implements it (``memenv train`` is
``python -m memenv.train``, ``memenv eval`` is ``python -m baselines.leaderboard``, ...), so
``memenv COMMAND --help`` shows that command's full help under its own name. Every command reports a
bad argument or an unusable file as one line on stderr (``memenv COMMAND: error: ...``) and exits with
status 2, without a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from typing import NoReturn

from memenv import __version__

# Each command: its ``main(argv, *, prog)`` (imported only when it runs) and its line in the usage.
COMMANDS = {
    "train": (
        "memenv.train.__main__:main",
        "train a memory writer with GRPO (and an optional SFT warm start); logs, checkpoints, final model",
    ),
    "eval": (
        "baselines.leaderboard:main",
        "score every system on every competency or dataset; write tables, CSV, JSON, predictions, charts",
    ),
    "leaderboard": ("baselines.leaderboard:main", "the same as eval"),
    "inspect": (
        "memenv.tasks.__main__:inspect_main",
        "load a dataset file and print its instances, chunk sizes and questions",
    ),
    "view": (
        "memenv.viewer:main",
        "turn recorded trajectories (JSONL) of one episode into a self-contained HTML viewer",
    ),
}


def one_line_errors(parser: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Make ``parser`` report a bad argument as one line (``PROG: error: MESSAGE (see PROG --help)``) and
    exit with status 2, instead of argparse's usage block; returns ``parser``."""

    def error(message: str) -> NoReturn:
        parser.exit(2, f"{parser.prog}: error: {message} (see {parser.prog} --help)\n")

    parser.error = error  # type: ignore[method-assign]
    return parser


def fail(prog: str, message: object) -> int:
    """Print ``PROG: error: MESSAGE`` on stderr and return exit status 2."""
    print(f"{prog}: error: {message}", file=sys.stderr)
    return 2


def _usage() -> str:
    lines = [f"usage: memenv [--version] COMMAND [ARGS ...]  (memenv {__version__})", "", "commands:"]
    lines += [f"  {name:<12} {text}" for name, (_, text) in COMMANDS.items()]
    lines += ["", "`memenv COMMAND --help` describes a command's options."]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help"):
        print(_usage(), file=sys.stdout if args else sys.stderr)
        return 0 if args else 2
    if args[0] in ("-V", "--version"):
        print(f"memenv {__version__}")
        return 0
    command, rest = args[0], args[1:]
    if command not in COMMANDS:
        return fail("memenv", f"unknown command {command!r}; expected one of {', '.join(COMMANDS)} (see memenv --help)")
    module, _, function = COMMANDS[command][0].partition(":")
    return getattr(importlib.import_module(module), function)(rest, prog=f"memenv {command}")


if __name__ == "__main__":
    raise SystemExit(main())
