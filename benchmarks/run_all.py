"""Every memenv benchmark in one run; each result is a ratio against its peer measured in the same run.

    python benchmarks/run_all.py                            # everything, ~10 minutes on 2 busy cores
    python benchmarks/run_all.py --quick                    # smaller sizes, ~2 minutes
    python benchmarks/run_all.py --only bm25 env_step       # some benchmarks
    git worktree add /tmp/base <commit>                     # then time that commit side by side:
    python benchmarks/run_all.py --reference /tmp/base

Absolute times do not carry from one machine (or one load) to another; a ratio measured in the same
run, interleaved, does. Every row therefore holds memenv's time, the peer it is compared with, the
peer's time and ``ratio = peer time / memenv time`` (above 1: memenv is faster). Peers:

==============  ===============================================================================
benchmark       peer
==============  ===============================================================================
env_step        a typical writer (10 calls per step: 8 inserts, 1 entry update, 1 core rewrite)
                replayed in ``MemAlpha-v0`` for 1,000 steps, memenv's text caches emptied first
                (cold, as in a fresh process); peers: the same calls parsed and applied to a bare
                :class:`memenv.memory.Memory` (what the step cannot avoid; caches emptied too), and
                ``--reference``; plus the step time's last 10% / first 10% (flatness).
store_all       one 1M-token episode stored chunk by chunk (steps/s, flatness, the final step that
                indexes the memory and answers); peer: ``--reference``.
bm25            top-20 queries over 1k, 6k and 100k short texts: bm25s as shipped (``retrieve``),
                bm25s' scoring with a plain top-k (its fastest path), rank_bm25; and index build.
systems         the heuristic writers (mem-alpha, mem1, memory-r1) on one generated episode per
                competency; peer: ``--reference``, with a check that both produce the same replies
                and memories.
eval            the default leaderboard command on one episode per competency: ``--workers 2`` vs
                serial (``benchmarks/bench_eval.py``), checking that the results are identical.
llm_batch       an LLM writer/reader (the tiny random Qwen2) batched across episodes vs one request at
                a time: the model alone, whole rollouts, and an endpoint (``benchmarks/bench_llm_batch.py``).
vector          rollouts in ``memenv.make_vec``: async vs sync (sequential) stepping.
trainer         one GRPO step: memenv.train vs TRL's GRPOTrainer (``benchmarks/bench_trainer.py``,
                one torch thread).
loaders         loading a 500K-token MemoryAgentBench context vs tokenizing it alone.
==============  ===============================================================================

Single-process timings use CPU time (``time.process_time``), which a busy shared machine disturbs
least; the eval, llm_batch, vector and trainer benchmarks, whose point is parallelism, use wall time. Prints a table
and writes one JSON (``--out``, default ``benchmarks/results/run_all.json``).
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BENCHMARKS = ("env_step", "store_all", "bm25", "systems", "eval", "llm_batch", "vector", "trainer", "loaders")


# --------------------------------------------------------------------------------------------------
# Measurements that run in a child process too (``--child``), against this checkout or a reference
# one: they use only APIs that memenv has had since its first releases.


# The short id: a --reference checkout from before the "memenv/" namespace registers only that one.
ENV_ID = "MemAlpha-v0"


def typical_writer(obs: dict[str, str], info: dict[str, Any], state: dict[str, str]) -> str:
    """10 calls per step: 8 inserts (sentences of the chunk), 1 update of an older entry, 1 core rewrite."""
    from memenv.parsing import render_tool_calls
    from memenv.tasks.chunking import split_sentences

    chunk = obs["chunk"]
    if not chunk:
        return ""
    for result in info.get("tool_results") or []:
        if result["name"] == "new_memory_insert" and result["ok"]:
            state["last_id"] = result["memory_id"]
    sentences = [s for line in chunk.splitlines() for s in split_sentences(line)] or [chunk]
    calls = [
        {
            "name": "new_memory_insert",
            "arguments": {
                "memory_type": "semantic_memory" if i % 2 == 0 else "episodic_memory",
                "content": sentences[i] if i < len(sentences) else f"{sentences[0]} ({i})",
            },
        }
        for i in range(8)
    ]
    if "last_id" in state:
        update = {"memory_type": "semantic_memory", "memory_id": state["last_id"], "new_content": f"{sentences[-1]}!"}
        calls.append({"name": "memory_update", "arguments": update})
    calls.append(
        {"name": "memory_update", "arguments": {"memory_type": "core_memory", "new_content": " ".join(sentences[:6])}}
    )
    return render_tool_calls(calls)


def clear_memenv_caches() -> list[str]:
    """Empty every ``functools`` cache of the imported memenv modules that is keyed on its arguments
    (token counts, word sets, evidence units, stems of texts); return their qualified names.

    A measurement that first records its actions by running them, then times their replay in the same
    process, would otherwise time warm caches: every text of the replay was already counted, split
    and stemmed. Caches without arguments (the loaded tokenizer, NLTK's stemmer) hold fixed resources
    that any process loads once, so they stay. Found by walking the modules, so a cache added later is
    cleared too, here and in a ``--reference`` checkout."""
    import inspect

    cleared = []
    for name, module in list(sys.modules.items()):
        if module is None or not (name == "memenv" or name.startswith("memenv.")):
            continue
        for attribute, value in list(vars(module).items()):
            if not (callable(getattr(value, "cache_clear", None)) and hasattr(value, "__wrapped__")):
                continue
            if getattr(value, "__module__", None) != name:  # imported from elsewhere: cleared there
                continue
            if not inspect.signature(value.__wrapped__).parameters:
                continue
            value.cache_clear()
            cleared.append(f"{name}.{attribute}")
    return sorted(cleared)


def measure_env_step(steps: int) -> dict[str, Any]:
    """Replay a recorded typical-writer trace; time every step, and the same calls on a bare Memory.

    Both timed loops start with memenv's text-keyed caches emptied (:func:`clear_memenv_caches`), as
    in a fresh process: recording the trace, and the env's own replay, would otherwise warm them."""
    import gymnasium as gym

    import memenv  # noqa: F401  (registers the environments)
    from memenv.parsing import parse_tool_calls
    from memenv.tools import execute

    def make() -> Any:
        return gym.make(ENV_ID, task="accurate_retrieval", context_tokens=512 * (steps + 1), chunk_tokens=512)

    env = make()
    obs, info = env.reset(seed=0)
    actions: list[str] = []
    state: dict[str, str] = {}
    done = False
    while not done and len(actions) < steps:
        actions.append(typical_writer(obs, info, state))
        obs, _, done, _, info = env.step(actions[-1])
    env.close()

    env = make()
    env.reset(seed=0)
    memory = copy.deepcopy(env.unwrapped.memory)  # empty, with the env's id seed: the bare peer's memory
    times, rewards = [], []
    clear_memenv_caches()
    for action in actions:
        start = time.process_time()
        _, reward, _, _, _ = env.step(action)
        times.append(time.process_time() - start)
        rewards.append(reward)
    env.close()
    bare = []
    clear_memenv_caches()
    for action in actions:
        start = time.process_time()
        for call in parse_tool_calls(action):
            execute(memory, call)
        bare.append(time.process_time() - start)
    tenth = max(1, len(times) // 10)
    return {
        "steps": len(times),
        "median_ms": 1000 * statistics.median(times),
        "first_10pct_ms": 1000 * statistics.median(times[:tenth]),
        "last_10pct_ms": 1000 * statistics.median(times[-tenth:]),
        "bare_calls_median_ms": 1000 * statistics.median(bare),
        "reward_sum": round(sum(rewards), 9),
    }


def measure_store_all(context_tokens: int) -> dict[str, Any]:
    """Store every chunk of one ``context_tokens`` episode verbatim (the largest Mem-α memory)."""
    import gymnasium as gym

    import memenv  # noqa: F401
    from memenv.parsing import render_tool_calls

    env = gym.make(ENV_ID, task="accurate_retrieval", context_tokens=context_tokens, chunk_tokens=512)
    start = time.process_time()
    obs, info = env.reset(seed=0)
    reset_s = time.process_time() - start
    times = []
    done = False
    while not done:
        call = {"name": "new_memory_insert", "arguments": {"memory_type": "episodic_memory", "content": obs["chunk"]}}
        action = render_tool_calls([call])
        start = time.process_time()
        obs, _, done, _, info = env.step(action)
        times.append(time.process_time() - start)
    final = times.pop()
    tenth = max(1, len(times) // 10)
    return {
        "steps": len(times) + 1,
        "reset_s": reset_s,
        "episode_s": sum(times) + final,
        "steps_per_s": len(times) / sum(times),
        "first_10pct_ms": 1000 * statistics.median(times[:tenth]),
        "last_10pct_ms": 1000 * statistics.median(times[-tenth:]),
        "final_step_s": final,
        "accuracy": info["qa"]["accuracy"],
    }


def measure_systems(name: str, context_tokens: int) -> dict[str, Any]:
    """One heuristic writer on one generated episode per competency: CPU seconds and an output hash."""
    import hashlib

    import gymnasium as gym

    import memenv  # noqa: F401
    from baselines.systems import LEARNED, _heuristic
    from memenv.tasks import COMPETENCIES, generate

    episodes = [generate(task, seed=0, context_tokens=context_tokens, chunk_tokens=512) for task in COMPETENCIES]
    seconds, policy_seconds, digests = 0.0, 0.0, []
    for episode in episodes:
        start = time.process_time()
        policy = _heuristic(name)
        env = gym.make(LEARNED[name.removesuffix("-add-only")])
        obs, info = env.reset(seed=0, options={"episode": episode})
        replies, done = [], False
        while not done:
            tick = time.process_time()
            replies.append(policy(obs, info))
            policy_seconds += time.process_time() - tick
            obs, _, done, _, info = env.step(replies[-1])
        env.close()
        seconds += time.process_time() - start
        trace = json.dumps([replies, info["memory"]], sort_keys=True, ensure_ascii=False)
        digests.append(hashlib.sha256(trace.encode()).hexdigest())
    return {name: {"seconds": seconds, "policy_seconds": policy_seconds, "digests": digests}}


CHILD_MEASURES: dict[str, Callable[..., dict[str, Any]]] = {
    "env_step": measure_env_step,
    "store_all": measure_store_all,
    "systems": measure_systems,
}


def run_child(root: Path, measure: str, *args: Any) -> dict[str, Any]:
    """Run one measurement in a fresh interpreter that imports memenv from ``root``."""
    env = {**os.environ, "PYTHONPATH": str(root), "PYTHONHASHSEED": "0"}
    command = [sys.executable, str(Path(__file__).resolve()), "--child", measure, json.dumps(args)]
    result = subprocess.run(command, cwd=root, env=env, capture_output=True, text=True, check=False)
    if result.returncode:
        raise RuntimeError(f"{measure} in {root} failed:\n{result.stderr[-3000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def side_by_side(
    measure: str, args: tuple[Any, ...], reference: Path | None, repeat: int, key: Callable[[dict[str, Any]], float]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """``repeat`` interleaved child runs of this checkout and (if given) the reference; the runs are
    returned ordered by ``key`` (fastest first)."""
    ours, theirs = [], []
    for _ in range(repeat):
        ours.append(run_child(ROOT, measure, *args))
        if reference is not None:
            theirs.append(run_child(reference, measure, *args))
    return sorted(ours, key=key), sorted(theirs, key=key)


# --------------------------------------------------------------------------------------------------
# In-process benchmarks with in-process peers


def zipf_corpus(n_docs: int, n_queries: int, seed: int = 0) -> tuple[list[str], list[str]]:
    """Short texts and queries over a 20k-word Zipf vocabulary (as in real text, a few words are everywhere)."""
    rng = random.Random(seed)
    vocab = [f"w{i}" for i in range(20_000)]
    weights = [1 / (i + 1) for i in range(len(vocab))]
    docs = [" ".join(rng.choices(vocab, weights, k=rng.randint(8, 40))) for _ in range(n_docs)]
    queries = [" ".join(rng.choices(vocab, weights, k=rng.randint(3, 10))) for _ in range(n_queries)]
    return docs, queries


def cpu_seconds(fn: Callable[[], Any]) -> float:
    start = time.process_time()
    fn()
    return time.process_time() - start


def bench_bm25(sizes: list[int], queries: int, repeat: int) -> list[dict[str, Any]]:
    return [r for n in sizes for r in _bm25_rows(n, queries, repeat)]


def _bm25_rows(n: int, queries: int, repeat: int) -> list[dict[str, Any]]:
    import bm25s
    import numpy as np
    from rank_bm25 import BM25Okapi

    from memenv.retrieval import BM25Index, tokenize

    def bm25s_core(index: Any, tokens: list[str], k: int) -> np.ndarray:
        scores = index.get_scores(tokens)
        hits = np.flatnonzero(scores > 0)
        if len(hits) > k:
            hits = hits[np.argpartition(-scores[hits], k - 1)[:k]]
        return hits[np.argsort(-scores[hits], kind="stable")]

    docs, qs = zipf_corpus(n, queries)
    slow = qs[: max(10, queries // (10 if n < 50_000 else 30))]  # the slower peers get fewer queries
    tokenized = [tokenize(d) for d in docs]
    # Every index starts from the raw texts (tokenizing included) and ends ready to answer.
    build: dict[str, list[float]] = {"memenv": [], "bm25s": [], "rank_bm25": []}
    for _ in range(repeat):
        build["memenv"].append(cpu_seconds(lambda: BM25Index.from_texts(docs).search("w1", 1)))
        build["bm25s"].append(
            cpu_seconds(lambda: bm25s.BM25(method="lucene").index([tokenize(d) for d in docs], show_progress=False))
        )
        build["rank_bm25"].append(cpu_seconds(lambda: BM25Okapi([tokenize(d) for d in docs])))
    ours = BM25Index.from_texts(docs)
    ours.search("w1", 1)
    shipped = bm25s.BM25(method="lucene")
    shipped.index(tokenized, show_progress=False)
    okapi = BM25Okapi(tokenized)
    runs: dict[str, Callable[[], Any]] = {
        "memenv": lambda: [ours.search(q, 20) for q in qs],
        "bm25s scores + top-k": lambda: [bm25s_core(shipped, tokenize(q), 20) for q in qs],
        "bm25s retrieve": lambda: [shipped.retrieve([tokenize(q)], k=20, show_progress=False) for q in slow],
        "rank_bm25": lambda: [okapi.get_top_n(tokenize(q), docs, n=20) for q in slow],
    }
    per_query: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(repeat):  # interleaved, so a busy moment hits every library alike
        for name, run in runs.items():
            count = len(slow) if name in ("bm25s retrieve", "rank_bm25") else len(qs)
            per_query[name].append(cpu_seconds(run) / count)
    mine = statistics.median(per_query["memenv"])
    rows = [
        row("bm25", f"top-20 query, {n:,} texts", mine, peer, statistics.median(per_query[peer]), "ms")
        for peer in ("bm25s retrieve", "bm25s scores + top-k", "rank_bm25")
    ]
    mine_build = statistics.median(build["memenv"])
    rows += [
        row("bm25", f"index {n:,} texts", mine_build, peer, statistics.median(build[peer]), "s")
        for peer in ("bm25s", "rank_bm25")
    ]
    return rows


def bench_vector(steps: int, num_envs: int) -> list[dict[str, Any]]:
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from bench_vector import rollout

    kwargs = {"task": "accurate_retrieval", "context_tokens": 8192, "chunk_tokens": 512, "num_questions": 10}
    sync = rollout("sync", num_envs, steps, kwargs)
    async_ = rollout("async", num_envs, steps, kwargs)
    if sync["return_sum"] != async_["return_sum"]:
        raise RuntimeError("async and sync rollouts disagree")
    return [
        row(
            "vector",
            f"{num_envs} envs x {steps} steps, async",
            async_["seconds"],
            "sync (sequential)",
            sync["seconds"],
            "s",
            note=f"{async_['steps_per_s']:.0f} vs {sync['steps_per_s']:.0f} env steps/s (wall)",
        )
    ]


def bench_eval(episodes: int, context_tokens: int, workers: int = 2) -> list[dict[str, Any]]:
    import tempfile

    sys.path.insert(0, str(ROOT / "benchmarks"))
    from bench_eval import comparable, run_mode

    common = ["--episodes", str(episodes), "--context-tokens", str(context_tokens)]
    with tempfile.TemporaryDirectory(prefix="run_all_eval") as folder:
        serial = run_mode("serial", [], common, Path(folder))
        parallel = run_mode("workers", ["--workers", str(workers)], common, Path(folder))
        same = comparable(serial["out"]) == comparable(parallel["out"])
    case = f"leaderboard, 7 systems x {4 * episodes} episodes x {context_tokens // 1000}K, --workers {workers}"
    note = "identical results" if same else "RESULTS DIFFER"
    return [row("eval", case, parallel["wall_seconds"], "serial", serial["wall_seconds"], "s", note=note)]


def bench_llm_batch(quick: bool, repeat: int) -> list[dict[str, Any]]:
    """Run ``benchmarks/bench_llm_batch.py`` (it checks batched results equal sequential ones) and
    turn each of its parts into a row: batched vs its sequential peer."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="run_all_llm") as folder:
        out = Path(folder) / "llm_batch.json"
        command = [sys.executable, str(ROOT / "benchmarks" / "bench_llm_batch.py"), "--out", str(out)]
        command += ["--parts", "model", "endpoint", "--repeats", "1"] if quick else ["--repeats", str(repeat)]
        result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)
        if result.returncode:
            raise RuntimeError(f"bench_llm_batch failed:\n{result.stderr[-3000:]}")
        measured = json.loads(out.read_text())["rows"]
    rows = []
    for part in dict.fromkeys(r["part"] for r in measured):
        sequential, batched = [r for r in measured if r["part"] == part]
        if batched.get("peak_in_flight") is not None:
            note = f"{batched['peak_in_flight']} requests in flight (concurrency {batched['concurrency']})"
        else:
            note = f"{batched['tokens_per_s']:.0f} vs {sequential['tokens_per_s']:.0f} tokens/s (wall)"
            if "ratio_ceiling" in batched:
                prompt_pass = batched["prompt_pass_seconds"]
                note += f"; at most {batched['ratio_ceiling']:.2f}x if decoding were free (prompt {prompt_pass:.1f} s)"
        rows.append(
            row(
                "llm_batch",
                f"{part}: {batched['mode']}",
                batched["seconds"],
                sequential["mode"],
                sequential["seconds"],
                "s",
                note=note,
            )
        )
    return rows


def bench_trainer(steps: int) -> list[dict[str, Any]]:
    import tempfile

    sys.path.insert(0, str(ROOT / "benchmarks"))
    import torch
    from bench_trainer import bench_memenv, bench_trl

    from memenv.llm import build_tiny_model

    torch.set_num_threads(1)  # one thread each: on a shared machine more threads only add contention

    with tempfile.TemporaryDirectory() as tmp:
        model = build_tiny_model(Path(tmp) / "tiny", hidden_size=256, seed=0)
        mine = bench_memenv(model, steps, 4, 32, Path(tmp) / "m")
        trl = bench_trl(model, steps, 4, 32, Path(tmp) / "t")
    note = f"{mine['tokens_per_s']:.0f} vs {trl['tokens_per_s']:.0f} tokens/s (wall)"
    return [
        row(
            "trainer",
            "GRPO step, tiny Qwen2, G=4",
            mine["seconds_per_step"],
            "TRL GRPOTrainer",
            trl["seconds_per_step"],
            "s",
            note=note,
        )
    ]


def bench_loaders(tokens: int, repeat: int) -> list[dict[str, Any]]:
    import tempfile

    sys.path.insert(0, str(ROOT / "benchmarks"))
    from bench_loaders import build_context

    from memenv import tokenizer
    from memenv.tasks.loaders import load

    context = build_context(tokens)
    record = {"context": context, "questions": ["q?"], "answers": [["a"]], "metadata": {"source": "infbench_qa_bench"}}
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "Long_Range_Understanding-00000-of-00001.json"
        path.write_text(json.dumps([record]))
        load_s = min(cpu_seconds(lambda: load("memoryagentbench", path)) for _ in range(repeat))
    count_s = min(cpu_seconds(lambda: tokenizer.count_tokens(context)) for _ in range(repeat))
    return [row("loaders", f"load + chunk {tokens // 1000}K tokens", load_s, "tokenizing it alone", count_s, "s")]


# --------------------------------------------------------------------------------------------------
# Rows and the report


def row(
    benchmark: str, case: str, memenv: float, peer: str, peer_value: float | None, unit: str, note: str = ""
) -> dict[str, Any]:
    """One result; times in seconds (``unit`` says how to print them), ratio = peer / memenv."""
    ratio = peer_value / memenv if peer_value is not None and memenv > 0 else None
    return {
        "benchmark": benchmark,
        "case": case,
        "memenv_s": memenv,
        "peer": peer,
        "peer_s": peer_value,
        "ratio": ratio,
        "unit": unit,
        "note": note,
    }


def shown(seconds: float | None, unit: str) -> str:
    if seconds is None:
        return "—"
    return f"{1000 * seconds:.3f} ms" if unit == "ms" else f"{seconds:.2f} s"


def env_rows(
    steps: int, reference: Path | None, repeat: int, label: str
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    ours, theirs = side_by_side("env_step", (steps,), reference, repeat, key=lambda r: r["median_ms"])
    best = ours[0]
    case = f"typical writer step, median of {best['steps']:,}"
    rows = [
        row(
            "env_step",
            case,
            best["median_ms"] / 1000,
            "same calls on a bare Memory",
            best["bare_calls_median_ms"] / 1000,
            "ms",
        )
    ]
    flat = best["last_10pct_ms"] / best["first_10pct_ms"]
    rows.append(
        row(
            "env_step",
            "last 10% vs first 10% of steps",
            best["last_10pct_ms"] / 1000,
            "first 10%",
            best["first_10pct_ms"] / 1000,
            "ms",
            note=f"flatness {flat:.2f}",
        )
    )
    if theirs:
        same = "same rewards" if theirs[0]["reward_sum"] == best["reward_sum"] else "REWARDS DIFFER"
        rows.append(
            row("env_step", case, best["median_ms"] / 1000, label, theirs[0]["median_ms"] / 1000, "ms", note=same)
        )
    return rows, {"ours": ours, "reference": theirs}


def store_all_rows(
    tokens: int, reference: Path | None, repeat: int, label: str
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    ours, theirs = side_by_side("store_all", (tokens,), reference, repeat, key=lambda r: r["episode_s"])
    best = ours[0]
    note = f"{best['steps_per_s']:,.0f} steps/s, last/first 10% {best['last_10pct_ms'] / best['first_10pct_ms']:.2f}"
    case = f"store-all episode, {tokens // 1000:,}K tokens ({best['steps']:,} steps + answers)"
    peer = theirs[0]["episode_s"] if theirs else None
    return [row("store_all", case, best["episode_s"], label if theirs else "—", peer, "s", note=note)], {
        "ours": ours,
        "reference": theirs,
    }


def systems_rows(
    names: list[str], tokens: int, reference: Path | None, repeat: int, label: str
) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """Each system in child processes of its own, so none is timed on the text caches (token counts,
    sentence analyses) that another system filled on the same episodes: every run starts as cold as
    ``memenv eval`` in a fresh process."""
    rows, details = [], {}
    for name in names:
        ours, theirs = side_by_side("systems", (name, tokens), reference, repeat, key=lambda r: r[name]["seconds"])
        details[name] = {"ours": ours, "reference": theirs}
        mine = ours[0][name]["seconds"]
        mine_policy = min(run[name]["policy_seconds"] for run in ours)
        case = f"{name}, 4 episodes x {tokens // 1000}K tokens"
        if theirs:
            peer = theirs[0][name]["seconds"]
            peer_policy = min(run[name]["policy_seconds"] for run in theirs)
            same = sum(a == b for a, b in zip(ours[0][name]["digests"], theirs[0][name]["digests"], strict=True))
            episodes = len(ours[0][name]["digests"])
            note = f"writer alone {peer_policy / mine_policy:.1f}x; same output on {same}/{episodes} episodes"
            rows.append(row("systems", case, mine, label, peer, "s", note=note))
        else:
            rows.append(row("systems", case, mine, "—", None, "s", note=f"writer alone {mine_policy:.2f} s"))
    return rows, details


def print_table(rows: list[dict[str, Any]]) -> None:
    header = ("benchmark", "case", "memenv", "peer", "peer time", "ratio", "note")
    lines = [
        (
            r["benchmark"],
            r["case"],
            shown(r["memenv_s"], r["unit"]),
            r["peer"],
            shown(r["peer_s"], r["unit"]),
            "—" if r["ratio"] is None else f"{r['ratio']:.2f}x",
            r["note"],
        )
        for r in rows
    ]
    print("| " + " | ".join(header) + " |")
    print("|" + "|".join("---" for _ in header) + "|")
    for line in lines:
        print("| " + " | ".join(line) + " |")


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", nargs="+", choices=BENCHMARKS, help="run only these benchmarks")
    parser.add_argument("--skip", nargs="+", choices=BENCHMARKS, default=[], help="leave these out")
    parser.add_argument("--quick", action="store_true", help="small sizes: a smoke run, not a measurement")
    parser.add_argument("--reference", type=Path, help="a checkout of another memenv commit to time side by side")
    parser.add_argument("--repeat", type=int, default=3, help="interleaved repetitions (the best or median is kept)")
    parser.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "run_all.json")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("args", nargs="?", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(CHILD_MEASURES[args.child](*json.loads(args.args))))
        return {}
    if args.reference is not None and not (args.reference / "memenv" / "__init__.py").exists():
        parser.error(f"--reference {args.reference} is not a memenv checkout (no memenv/__init__.py)")
    chosen = [b for b in (args.only or BENCHMARKS) if b not in args.skip]
    quick = args.quick
    label = "reference " + (_commit(args.reference) if args.reference else "")
    load_before = os.getloadavg()
    rows: list[dict[str, Any]] = []
    details: dict[str, Any] = {}
    for name in chosen:
        start = time.perf_counter()
        print(f"running {name} ...", file=sys.stderr, flush=True)
        if name == "env_step":
            new, details[name] = env_rows(200 if quick else 1000, args.reference, args.repeat, label)
        elif name == "store_all":
            new, details[name] = store_all_rows(
                100_000 if quick else 1_000_000, args.reference, 1 if quick else args.repeat, label
            )
        elif name == "systems":
            systems = ["mem-alpha", "mem1", "memory-r1"]
            new, details[name] = systems_rows(
                systems, 8192 if quick else 65_536, args.reference, 1 if quick else args.repeat, label
            )
        elif name == "bm25":
            new = bench_bm25(
                [1000, 6000] if quick else [1000, 6000, 100_000], 60 if quick else 300, 1 if quick else args.repeat
            )
        elif name == "eval":
            new = bench_eval(1, 8192 if quick else 65_536)
        elif name == "llm_batch":
            new = bench_llm_batch(quick, args.repeat)
        elif name == "vector":
            new = bench_vector(40 if quick else 300, 2)
        elif name == "trainer":
            new = bench_trainer(1 if quick else 2)
        else:
            new = bench_loaders(50_000 if quick else 500_000, 1 if quick else args.repeat)
        rows.extend(new)
        print(f"  {name}: {time.perf_counter() - start:.0f} s", file=sys.stderr, flush=True)
    print_table(rows)
    report = {
        "benchmark": "run_all",
        "rows": rows,
        "details": details,
        "settings": {"benchmarks": chosen, "quick": quick, "repeat": args.repeat, "reference": label.strip() or None},
        "machine": {
            "cpus": os.cpu_count(),
            "load_average_before": [round(x, 2) for x in load_before],
            "load_average_after": [round(x, 2) for x in os.getloadavg()],
            "python": platform.python_version(),
            "platform": platform.platform(),
            "commit": _commit(ROOT),
        },
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {args.out}")
    return report


def _commit(path: Path) -> str:
    result = subprocess.run(["git", "-C", str(path), "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    return result.stdout.strip() or "unknown"


if __name__ == "__main__":
    main()
