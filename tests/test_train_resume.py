"""The trainer's resume cannot use the wrong run or damage one (issue 13, item 12).

Everything is checked before a file of the run changes; checkpoints load with weights_only=True.
"""

from __future__ import annotations

import json
import pickle
import shutil
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from memenv.llm import build_tiny_model  # noqa: E402
from memenv.train import GRPOConfig, train  # noqa: E402
from memenv.train.grpo import RunError  # noqa: E402

SMALL = {"context_tokens": 128, "chunk_tokens": 64, "num_questions": 2, "max_new_tokens": 8}


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> tuple[GRPOConfig, Path]:
    """One finished run: a step-1 checkpoint, its log and config."""
    tiny = build_tiny_model(tmp_path_factory.mktemp("tiny"), hidden_size=64, num_layers=1, seed=0)
    folder = tmp_path_factory.mktemp("run")
    config = GRPOConfig(
        output_dir=str(folder),
        model=str(tiny),
        total_steps=1,
        episodes_per_step=1,
        group_size=2,
        checkpoint_every=1,
        progress=False,
        save_model=False,
        **SMALL,
    )
    train(config)
    return config, folder


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def again(config: GRPOConfig, **changes) -> GRPOConfig:
    return GRPOConfig(**{**vars(config), **changes})


def test_a_fresh_run_into_an_existing_run_is_refused(run):
    config, folder = run
    before = snapshot(folder)
    with pytest.raises(RunError, match=r"already holds a run \(config.json, log.jsonl, log.csv, checkpoints\)"):
        train(again(config))
    assert snapshot(folder) == before


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"learning_rate": 1e-3}, r"learning_rate: 1e-05 -> 0.001"),
        ({"lora_r": 4}, r"lora_r: 0 -> 4"),
        ({"seed": 1, "task": "mixed"}, r"seed: 0 -> 1, task: 'accurate_retrieval' -> 'mixed'"),
        ({"total_steps": 0}, r"at step 1, past total_steps=0"),
    ],
)
def test_resuming_with_other_settings_is_refused_and_changes_nothing(run, changes, message):
    config, folder = run
    before = snapshot(folder)
    with pytest.raises(RunError, match=message) as caught:
        train(again(config, resume="latest", **changes))
    assert str(folder / "checkpoints" / "step_000001" / "state.pt") in str(caught.value)
    assert snapshot(folder) == before


class _Payload:
    def __reduce__(self):
        return (Path.touch, (Path(str(_Payload.target)),))


@pytest.mark.parametrize("damage", ["truncated", "garbage", "code", "not a dict", "no rng"])
def test_a_bad_checkpoint_is_a_clear_error_naming_it(run, tmp_path, damage):
    config, folder = run
    copy = tmp_path / "copy"
    shutil.copytree(folder, copy)
    state_file = copy / "checkpoints" / "step_000001" / "state.pt"
    _Payload.target = tmp_path / "pwned"
    if damage == "truncated":
        state_file.write_bytes(state_file.read_bytes()[:1000])
    elif damage == "garbage":
        state_file.write_bytes(b"\x80\x04not a checkpoint")
    elif damage == "code":  # a crafted checkpoint that runs code when unpickled with weights_only=False
        torch.save({"model": {}, "exploit": _Payload()}, state_file)
    elif damage == "not a dict":
        torch.save([1, 2, 3], state_file)
    else:
        state = torch.load(state_file, weights_only=True)
        del state["rng"]
        torch.save(state, state_file)
    before = snapshot(copy)
    with pytest.raises(RunError, match=str(state_file)):
        train(again(config, output_dir=str(copy), resume="latest", total_steps=2))
    assert not _Payload.target.exists()  # nothing in the file ran
    assert snapshot(copy) == before


def test_a_torn_last_log_line_does_not_block_resume(run, tmp_path):
    config, folder = run
    copy = tmp_path / "copy"
    shutil.copytree(folder, copy)
    log = copy / "log.jsonl"
    log.write_text(log.read_text() + '{"step": 2, "phase": "tra')  # killed mid-write
    records = train(again(config, output_dir=str(copy), resume="latest", total_steps=2))
    assert [r["step"] for r in records if r.get("phase") == "train"] == [1, 2]
    assert [json.loads(line)["step"] for line in log.read_text().splitlines()] == [1, 2]
    # A damaged line that is not the last one is an error naming the file and line.
    log.write_text('{"step": 1}\nnot json\n{"step": 2}\n')
    with pytest.raises(RunError, match=rf"{log}, line 2: not a log record"):
        train(again(config, output_dir=str(copy), resume="latest", total_steps=3))


def test_overwrite_replaces_the_earlier_run_entirely(run, tmp_path):
    config, folder = run
    copy = tmp_path / "copy"
    shutil.copytree(folder, copy)
    train(again(config, output_dir=str(copy), overwrite=True, total_steps=0, checkpoint_every=0))
    assert not (copy / "checkpoints").exists()
    assert (copy / "log.jsonl").read_text() == ""
    with pytest.raises(RunError, match="holds no checkpoint"):  # the old run's checkpoint cannot be picked up
        train(again(config, output_dir=str(copy), resume="latest", total_steps=2))


def test_checkpoints_hold_only_tensors_and_plain_data(run):
    _, folder = run
    state = torch.load(folder / "checkpoints" / "step_000001" / "state.pt", weights_only=True)
    assert set(state) == {"model", "optimizer", "rng", "step", "cursor", "config"}
    assert state["config"]["total_steps"] == 1 and state["step"] == 1
    pickle.dumps(state["rng"]["numpy"])
