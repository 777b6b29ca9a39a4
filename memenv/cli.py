"""The ``memenv`` command.

    memenv eval [OPTIONS]               every baseline (and your own systems) on the synthetic suite or a
                                        dataset: tables, JSON, per-question predictions (see --help)
    memenv leaderboard [OPTIONS]        the same command (an alias of memenv eval)
    memenv inspect PATH --source S      what a dataset file turns into (python -m memenv.tasks inspect)
    memenv view RUN.jsonl -o episode.html   a recorded episode as one offline HTML page (memenv.viewer)

Each subcommand hands its arguments, unparsed, to the module that implements it, so
``memenv eval --help`` shows that module's full help.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

COMMANDS = {
    "eval": "score every system on every competency or dataset; write tables, CSV, JSON, predictions and a chart",
    "leaderboard": "the same as eval (an alias)",
    "inspect": "load a dataset file and print its instances, chunk sizes and questions",
    "view": "turn recorded trajectories (JSONL) of one episode into a self-contained HTML viewer",
}


def _usage() -> str:
    lines = ["usage: memenv COMMAND [ARGS ...]", "", "commands:"]
    lines += [f"  {name:<12} {text}" for name, text in COMMANDS.items()]
    lines += ["", "`memenv COMMAND --help` describes a command's options."]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] in ("-h", "--help"):
        print(_usage())
        return 0 if args else 2
    command, rest = args[0], args[1:]
    if command in ("eval", "leaderboard"):
        from baselines.leaderboard import main as leaderboard

        return leaderboard(rest, prog=f"memenv {command}")
    if command == "inspect":
        from memenv.tasks.__main__ import main as tasks_main

        return tasks_main(["inspect", *rest])
    if command == "view":
        from memenv.viewer import main as view

        return view(rest)
    print(f"memenv: unknown command {command!r}\n\n{_usage()}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(main())
