"""The ``memenv`` command line: one entry point, self-naming help, one-line errors; ids and wrapper specs."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest

import memenv
import memenv.tasks.loaders
from memenv.cli import COMMANDS, main
from memenv.train.__main__ import parser as train_parser
from memenv.train.grpo import GRPOConfig
from memenv.trajectories import RecordEpisodes
from memenv.wrappers import DiscreteMemoryActions, HashedTextObservation, MemoryBudget

FIXTURES = Path(__file__).parent / "fixtures"


def test_version_from_the_console_script() -> None:
    script = Path(sys.executable).parent / "memenv"
    done = subprocess.run([str(script), "--version"], capture_output=True, text=True, timeout=60, check=True)
    assert done.stdout == f"memenv {memenv.__version__}\n"


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_each_subcommand_help_names_itself(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main([command, "--help"])
    assert exit_.value.code == 0
    assert capsys.readouterr().out.startswith(f"usage: memenv {command} ")


def test_top_level_usage_lists_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    usage = capsys.readouterr().out
    assert all(f"  {command} " in usage for command in COMMANDS)
    assert main([]) == 2  # no command: the usage, on stderr, and a failure status
    assert "usage: memenv" in capsys.readouterr().err


def test_train_help_documents_every_config_field(capsys: pytest.CaptureFixture[str]) -> None:
    text = train_parser().format_help()
    for field in dataclasses.fields(GRPOConfig):
        flag = "--" + field.name.replace("_", "-")
        assert flag in text, flag
        assert field.metadata.get("help"), f"{field.name} has no help text"
    assert "logs, checkpoints and the final model go here (default: runs/grpo)" in " ".join(text.split())
    assert "{float32,bfloat16,float16}" in text and "{step,trajectory}" in text
    # the aliases shared with memenv eval
    args = train_parser().parse_args(["--out", "here", "--no-progress", "--report-to", "none"])
    assert (args.output_dir, args.progress, args.report_to) == ("here", False, ["none"])


BAD = [
    (["train", "--seed", "abc"], "argument --seed: invalid int value"),
    (["train", "--task", "bogus"], "invalid choice: 'bogus'"),
    (["train", "--frobnicate", "1"], "unrecognized arguments: --frobnicate"),
    (["train", "--temperature", "0"], "temperature must be > 0"),
    (["train", "--env-kwargs", "{bad"], "env_kwargs is not JSON"),
    (["train", "--env-id", "Nope-v0"], "env_id 'Nope-v0'"),
    (["train", "--env-kwargs", '{"visible_k": -1}'], "visible_k"),
    (["train", "--model", "/no/such/model"], "model '/no/such/model': no such folder"),
    (["train", "--dataset", "missing.json", "--source", "locomo"], "missing.json: no such file or folder"),
    (["train", "--chat-template-kwargs", '{"tools": 1}'], "may not set 'tools'"),
    (["eval", "--source", "bogus"], "argument --source: invalid choice"),
    (["eval", "--dataset", "x.json"], "--dataset needs --source"),
    (["eval", "--episodes", "0"], "--episodes must be >= 1"),
    (["eval", "--reader", "hf:/no/such/model"], "no model folder /no/such/model"),
    (["eval", "--reader", "gpt4"], "--reader"),
    (["eval", "--enable-thinking", "maybe"], "expected true or false"),
    (["eval", "--dataset", "missing.json", "--source", "locomo"], "missing.json: no such file or folder"),
    (["inspect", "missing.json", "--source", "locomo"], "missing.json: no such file or folder"),
    (["inspect", "missing.json"], "the following arguments are required: --source"),
    (["view", "missing.jsonl"], "no trajectory file or folder missing.jsonl"),
    (["frobnicate"], "unknown command 'frobnicate'"),
]


@pytest.mark.parametrize(("argv", "message"), BAD, ids=[" ".join(argv) for argv, _ in BAD])
def test_bad_values_are_one_line_errors(
    argv: list[str], message: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)

    def no_hub(*args: object) -> None:
        raise AssertionError("a local path was looked up on the hub")

    monkeypatch.setattr(memenv.tasks.loaders, "_hub_records", no_hub)
    try:
        status = main([*argv, "--out", str(tmp_path / "out")] if argv[0] == "eval" else argv)
    except SystemExit as exit_:
        status = exit_.code
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if "Warning" not in line and "logger.deprecation" not in line]
    assert status == 2, err
    assert len(lines) == 1, err
    prog = "memenv" if argv[0] not in COMMANDS else f"memenv {argv[0]}"
    assert lines[0].startswith(f"{prog}: error: ") and message in lines[0], lines[0]
    assert "Traceback" not in err


def test_a_hub_id_still_goes_to_the_hub(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)
    asked: list[str] = []
    monkeypatch.setattr(memenv.tasks.loaders, "_hub_records", lambda dataset_id, split: asked.append(dataset_id) or [])
    memenv.tasks.loaders.load("memalpha", "Mem-alpha/Memalpha-test")
    assert asked == ["Mem-alpha/Memalpha-test"]
    for local in ("data.json", "./x", "/abs/x", "a/b/c", "~/x.parquet"):
        assert not memenv.tasks.loaders.is_hub_id(local), local
    (tmp_path / "data").mkdir()
    assert not memenv.tasks.loaders.is_hub_id("data/missing")  # its first part is a local folder


# -- Gymnasium conventions ----------------------------------------------------------------------------


def test_namespaced_ids_and_their_aliases() -> None:
    for env_id, entry_point in memenv.ENVIRONMENTS:
        assert env_id.startswith("memenv/")
        short = env_id.removeprefix("memenv/")
        assert gym.spec(env_id).entry_point == gym.spec(short).entry_point == entry_point
        assert gym.spec(env_id).kwargs == gym.spec(short).kwargs
        assert memenv.canonical_id(short) == memenv.canonical_id(f"memenv:{short}") == env_id
    assert gym.spec("memenv/MemAlpha-v1").kwargs == {"suite": "v1"}
    assert memenv.canonical_id("CartPole-v1") == "CartPole-v1"
    a, b = gym.make("memenv/MEM1-v0", context_tokens=1024), gym.make("MEM1-v0", context_tokens=1024)
    assert a.reset(seed=4)[0] == b.reset(seed=4)[0]


def test_a_wrapped_env_is_rebuilt_from_its_spec(tmp_path: Path) -> None:
    base = gym.make("memenv/MemAlpha-v0", task="accurate_retrieval", context_tokens=2048, chunk_tokens=256)
    env = RecordEpisodes(base, tmp_path / "run.jsonl", system="probe")
    env = HashedTextObservation(
        DiscreteMemoryActions(MemoryBudget(env, max_tokens=300, beta=0.1), operations=("skip", "store_chunk")),
        chunk_features=16,
    )
    assert [w.name for w in env.spec.additional_wrappers] == [
        "RecordEpisodes",
        "MemoryBudget",
        "DiscreteMemoryActions",
        "HashedTextObservation",
    ]
    again = gym.make(env.spec)
    assert again.spec == env.spec
    assert again.observation_space == env.observation_space and again.action_space == env.action_space
    assert again.unwrapped.spec.kwargs["context_tokens"] == 2048
    obs_a, _ = env.reset(seed=7)
    obs_b, _ = again.reset(seed=7)
    np.testing.assert_array_equal(obs_a, obs_b)
    for action in (1, 0, 1):
        step_a, step_b = env.step(action), again.step(action)
        np.testing.assert_array_equal(step_a[0], step_b[0])
        assert step_a[1:4] == step_b[1:4]


def test_one_version_source_and_the_packaging_files() -> None:
    from importlib.metadata import metadata, version

    assert version("memenv") == memenv.__version__  # pyproject reads it from memenv/__init__.py
    root = Path(memenv.__file__).parent
    assert (root / "py.typed").is_file() and (root.parent / "LICENSE").read_text().startswith("MIT License")
    assert "License :: OSI Approved :: MIT License" in metadata("memenv").get_all("Classifier")


def test_v0_is_not_reported_out_of_date() -> None:
    """v1 is a harder suite, not a fix of v0: making a v0 env must not tell users to upgrade."""
    code = "import gymnasium, memenv; gymnasium.make('memenv/MemAlpha-v0'); gymnasium.make('MEM1-v0')"
    done = subprocess.run([sys.executable, "-W", "default", "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "out of date" not in done.stderr
