"""``python -m memenv.train [--flag value ...]``: one flag per :class:`memenv.train.GRPOConfig` field.

Examples::

    # smoke run on a random tiny model (seconds)
    python -m memenv.train --model tiny --total-steps 2 --group-size 2 --max-new-tokens 16

    # SFT warm start from the heuristic writer, then GRPO with LoRA on SmolLM2-135M-Instruct
    python -m memenv.train --model default --lora-r 16 --sft-episodes 24 --eval-episodes 16 --total-steps 20
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from dataclasses import MISSING

from memenv.train.grpo import GRPOConfig, config_fields, train


def _bool(text: str) -> bool:
    if text.lower() in ("1", "true", "yes", "on"):
        return True
    if text.lower() in ("0", "false", "no", "off"):
        return False
    raise argparse.ArgumentTypeError(f"expected true/false, got {text!r}")


def parser() -> argparse.ArgumentParser:
    parse = argparse.ArgumentParser(
        prog="python -m memenv.train",
        description="GRPO (with optional SFT warm start) for memenv memory writers.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    types = {"int": int, "float": float, "str": str, "bool": _bool}
    for field in config_fields():
        kind = types[field.type if isinstance(field.type, str) else field.type.__name__]
        default = field.default if field.default is not MISSING else None
        parse.add_argument(f"--{field.name.replace('_', '-')}", type=kind, default=default, metavar=field.type.upper())
    return parse


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    config = GRPOConfig(**vars(args))
    records = train(config)
    evals = [r for r in records if r.get("phase") in ("eval", "eval_base")]
    for record in evals:
        print(json.dumps(record))
    return 0


if __name__ == "__main__":
    sys.exit(main())
