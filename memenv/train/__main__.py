"""``memenv train`` (or ``python -m memenv.train``): one flag per :class:`memenv.train.GRPOConfig` field.

The parser is generated from the config dataclass by ``transformers.HfArgumentParser``, so every flag
shows its type, default, choices and the field's help text (``memenv train --help``). Everything a run
names (the env and its options, the dataset, the trackers, the model folder) is checked before any
model loads; a bad value is one line on stderr and exit status 2.

Examples::

    # smoke run on a random 1M-parameter model: 2 steps, about 10 s on 2 CPU cores (measured: 9.6 s)
    memenv train --model tiny --total-steps 2 --group-size 2 --max-new-tokens 16 --output-dir runs/smoke

    # SFT warm start from the heuristic writer, then GRPO with LoRA on SmolLM2-135M-Instruct
    memenv train --model default --lora-r 16 --sft-episodes 24 --eval-episodes 16 --total-steps 20
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from memenv.cli import fail, one_line_errors
from memenv.errors import MemEnvError
from memenv.train.grpo import GRPOConfig, train


def parser(prog: str = "memenv train") -> argparse.ArgumentParser:
    """The command-line parser, generated from :class:`GRPOConfig` (its fields' ``help`` metadata)."""
    from transformers import HfArgumentParser

    p = HfArgumentParser(
        GRPOConfig,
        prog=prog,
        description="GRPO (with an optional SFT warm start) for memenv memory writers. Writes OUTPUT_DIR/log.jsonl, "
        "log.csv, config.json, checkpoints and the final model.",
    )
    # HfArgumentParser accepts both --output_dir and --output-dir; show the hyphenated form, as memenv's
    # other commands write their flags.
    for action in p._actions:
        action.option_strings.sort(key=lambda flag: (not flag.startswith("--"), "_" in flag))
    return p


def main(argv: Sequence[str] | None = None, *, prog: str = "memenv train") -> int:
    """Parse, check, train; print the evaluation records as JSON lines. Exit status 2 on a bad value."""
    p = one_line_errors(parser(prog))
    try:
        config = GRPOConfig(**vars(p.parse_args(argv)))  # argparse reports unknown flags through p.error
        records = train(config)
    except MemEnvError as exc:  # ConfigError, RunError, DatasetError, ...: a value the user can fix
        return fail(prog, exc)
    for record in records:
        if record.get("phase") in ("eval", "eval_base"):
            print(json.dumps(record))
    return 0


if __name__ == "__main__":
    sys.exit(main(prog="python -m memenv.train"))
