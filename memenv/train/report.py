"""Where a training run's log records go besides ``log.jsonl``: TensorBoard and Weights & Biases.

:class:`memenv.train.grpo.RunLog` always writes every record to ``output_dir/log.jsonl`` and
``log.csv``; ``report_to`` (:class:`memenv.train.GRPOConfig`, ``--report-to`` on the command line)
sends the same records to trackers as well:

- ``"tensorboard"``: event files in ``output_dir/tensorboard`` (``torch.utils.tensorboard``; needs the
  ``tensorboard`` package: ``pip install 'memenv[tensorboard]'``). View them with
  ``tensorboard --logdir OUTPUT_DIR/tensorboard``.
- ``"wandb"``: a Weights & Biases run (project ``$WANDB_PROJECT``, default ``memenv``; the run's config
  is the training config), files under ``output_dir``. Needs ``pip install wandb`` and a login, or
  ``WANDB_MODE=offline``.
- ``"none"`` (or nothing): only the JSONL and CSV logs.

Each numeric field of a record becomes a scalar named ``PHASE/FIELD`` (``train/reward``,
``eval/eval_accuracy``, ``sft/loss``) at the record's ``step`` (SFT records at their ``sft_step``).
Text fields (the sampled completion) and flags are left to the JSONL log.

:func:`check_report_to` runs before any model loads, so a tracker that is not installed fails at once,
naming the package to install.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from memenv.errors import MemEnvError

REPORT_TO = ("none", "tensorboard", "wandb")
# What each tracker imports, and how to install it.
_NEEDS = {
    "tensorboard": ("tensorboard", "pip install 'memenv[tensorboard]'"),
    "wandb": ("wandb", "pip install wandb"),
}


class ReportError(MemEnvError, ValueError):
    """A ``report_to`` entry that is unknown or whose package is not installed."""


def check_report_to(names: Iterable[str]) -> tuple[str, ...]:
    """The trackers to open: ``names`` without ``"none"`` and repeats, each known and installed.

    Raises:
        ReportError: an unknown name (the message lists :data:`REPORT_TO`), or a tracker whose package
            is not installed (the message says what to install).
    """
    wanted: list[str] = []
    for name in names:
        if name not in REPORT_TO:
            raise ReportError(f"report_to: unknown tracker {name!r}; expected some of {', '.join(REPORT_TO)}")
        if name != "none" and name not in wanted:
            wanted.append(name)
    for name in wanted:
        package, install = _NEEDS[name]
        if importlib.util.find_spec(package) is None:
            raise ReportError(f"report_to={name!r} needs the {package} package, which is not installed: {install}")
    return tuple(wanted)


def scalars(record: Mapping[str, Any]) -> tuple[str, int, dict[str, float]]:
    """``(phase, step, {name: value})``: the numeric fields of a log record, as the trackers get them."""
    phase = str(record.get("phase", "train"))
    step = record.get("sft_step" if phase == "sft" else "step", 0)
    values = {
        f"{phase}/{key}": float(value)
        for key, value in record.items()
        if key not in ("step", "phase", "sft_step") and isinstance(value, (int, float)) and not isinstance(value, bool)
    }
    return phase, int(step) if isinstance(step, int) else 0, values


class Reporters:
    """The open trackers of one run; :meth:`log` sends a record to each, :meth:`close` flushes them.

    Args:
        names: tracker names already checked by :func:`check_report_to`.
        output_dir: the run folder (TensorBoard writes to ``output_dir/tensorboard``).
        config: the run's settings, shown by W&B as the run config.
        resume_step: the checkpoint's step when the run resumes (None: a fresh run). TensorBoard then
            drops the events a killed run wrote after that step (``purge_step``), and W&B continues the
            run named in ``output_dir/wandb_run_id``, when there is one.
    """

    def __init__(
        self, names: Iterable[str], output_dir: Path, config: Mapping[str, Any], *, resume_step: int | None = None
    ) -> None:
        self.names = tuple(names)
        self._tensorboard: Any = None
        self._wandb: Any = None
        if "tensorboard" in self.names:
            from torch.utils.tensorboard import SummaryWriter

            purge = None if resume_step is None else resume_step + 1
            self._tensorboard = SummaryWriter(log_dir=str(output_dir / "tensorboard"), purge_step=purge)
        if "wandb" in self.names:
            import wandb

            id_file = output_dir / "wandb_run_id"
            run_id = id_file.read_text().strip() if resume_step is not None and id_file.is_file() else None
            self._wandb = wandb.init(
                project=os.environ.get("WANDB_PROJECT", "memenv"),
                dir=str(output_dir),
                config=dict(config),
                id=run_id,
                resume="allow" if run_id else None,
            )
            id_file.write_text(self._wandb.id + "\n")

    def log(self, record: Mapping[str, Any]) -> None:
        if not self.names:
            return
        _, step, values = scalars(record)
        if self._tensorboard is not None:
            for name, value in values.items():
                self._tensorboard.add_scalar(name, value, global_step=step)
        if self._wandb is not None and values:
            # W&B steps must grow; SFT records count their own steps, so they carry theirs as a field.
            self._wandb.log({**values, "step": step})

    def close(self) -> None:
        if self._tensorboard is not None:
            self._tensorboard.close()
            self._tensorboard = None
        if self._wandb is not None:
            self._wandb.finish()
            self._wandb = None
