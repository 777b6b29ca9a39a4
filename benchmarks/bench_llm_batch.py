"""LLM-in-the-loop throughput: one request at a time vs batched across episodes.

    python benchmarks/bench_llm_batch.py                      # about 3 minutes on 2 busy CPU cores
    python benchmarks/bench_llm_batch.py --parts model endpoint --repeats 1
    python benchmarks/bench_llm_batch.py --model hf:default   # the embedded SmolLM2-135M instead
    python benchmarks/bench_llm_batch.py --no-share-prefix    # rows decode over their own copy of a shared prefix

Three measurements, each against its sequential peer in the same run:

- ``model``: the chat model alone on ``--num-envs`` prompts, ``generate`` once per prompt vs one
  ``generate_batch``; twice: short prompts (an LLM reader's question over a small memory) and the
  long prompts an LLM writer gets (MemAlpha-v0's system prompt, tool schemas and a chunk).
- ``rollout``: ``--episodes`` MemAlpha-v0 episodes (accurate_retrieval, 0.5x to 1.5x
  ``--context-tokens`` long, so they end at different steps) written by an LLM writer
  (:class:`baselines.llm_policy.LLMPolicy`) and read by the offline evidence reader:
  ``EnvPolicy.run`` per episode vs ``EnvPolicy.run_many`` (``--num-envs`` episodes in lock-step,
  one batched model call per step). The model times its prompt pass (``usage["prompt_seconds"]``): a
  lock-step run takes at least that long however cheap decoding gets, hence the ratio's ceiling.
- ``endpoint``: the same rollouts against a scripted OpenAI-compatible server on 127.0.0.1 (in its own
  process) that takes ``--server-latency`` seconds per request, a stand-in for a served model that
  batches concurrent requests: ``concurrency=1`` and ``run`` per episode vs
  ``concurrency=--num-envs`` and ``run_many``; the server reports the most requests it held at once.

The model is the tiny random Qwen2 of :func:`memenv.llm.build_tiny_model` (or ``--model SPEC``),
greedy, with ``--threads`` torch threads (1 by default: on a 2-core machine shared with other work a
second thread made the tiny model 2-5x slower). Each mode runs ``--repeats`` times, alternating which
goes first; the table shows medians (every run's seconds are in the JSON) and the ratio of the
sequential median to the batched one, which is the tokens/s ratio (both generate the same tokens).
The parts that run the model here also report the process's CPU seconds and their ratio ("cpu"):
with one torch thread on a machine shared with other work, wall time also counts the time the
process waited for a core, which swung single runs by 1.5-2x; CPU time counts only the work.
Tokens are completion tokens counted by ``HFChatModel.usage``. Every batched result is checked against
the sequential one (same replies; same memories, answers and scores) before its speed is reported.
Prints a table and writes JSON (``--out``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from statistics import median
from typing import Any, ClassVar

import gymnasium as gym
import torch

import memenv  # noqa: F401  (registers the environments)
from baselines.llm_policy import LLMPolicy
from baselines.systems import EnvPolicy, RunResult
from memenv.llm import HFChatModel, OpenAIChatModel, build_tiny_model, make_chat_model
from memenv.memory import Memory
from memenv.qa import memory_context
from memenv.readers import EvidenceReader
from memenv.readers.llm import LLMReader
from memenv.tasks.synthetic import generate

PARTS = ("model", "rollout", "endpoint")


def suite(n: int, context_tokens: int, chunk_tokens: int) -> list:
    """``n`` accurate-retrieval episodes whose lengths differ (context from 0.5x to 1.5x ``context_tokens``)."""
    return [
        generate(
            "accurate_retrieval",
            seed=i,
            context_tokens=max(chunk_tokens, int(context_tokens * (0.5 + i / max(n - 1, 1)))),
            chunk_tokens=chunk_tokens,
            num_questions=4,
        )
        for i in range(n)
    ]


def same(a: RunResult, b: RunResult) -> bool:
    return (a.accuracy, a.memory_tokens, a.qa) == (b.accuracy, b.memory_tokens, b.qa)


def compare(model: HFChatModel | None, sequential: Any, batched: Any, repeats: int) -> dict[str, Any]:
    """Time ``sequential()`` and ``batched()`` ``repeats`` times each, alternating which goes first.

    On a machine shared with other work single timings swing by 2x; alternating and taking medians
    keeps the ratio honest. The model's prefix cache is emptied before every run, so no run starts
    with the blocks of its very prompts stored by the run before (shared prefixes within a run, such as
    the writer's system prompt at every step, are still reused, as they would be in use). Returns
    both results (of the first runs), the seconds of every run, and the completion tokens per run
    (counted by the model; the same every run, or the benchmark stops).
    """
    out: dict[str, Any] = {
        "seconds": {"sequential": [], "batched": []},
        "cpu_seconds": {"sequential": [], "batched": []},
        "prompt_seconds": {"sequential": [], "batched": []},
        "tokens": {},
        "result": {},
    }
    for repeat in range(repeats):
        order = [("sequential", sequential), ("batched", batched)]
        for name, work in order if repeat % 2 == 0 else order[::-1]:
            if model is not None:  # every run starts cold: no blocks of these very prompts from the run before
                model.clear_prefix_cache()
            before = dict(model.usage) if model is not None else {}
            start, cpu = time.perf_counter(), time.process_time()
            result = work()
            out["seconds"][name].append(round(time.perf_counter() - start, 3))
            out["cpu_seconds"][name].append(round(time.process_time() - cpu, 3))
            tokens = 0
            if model is not None:
                tokens = model.usage["completion_tokens"] - before["completion_tokens"]
                out["prompt_seconds"][name].append(round(model.usage["prompt_seconds"] - before["prompt_seconds"], 3))
            if out["tokens"].setdefault(name, tokens) != tokens:
                raise SystemExit(f"{name}: {tokens} completion tokens this run, {out['tokens'][name]} before")
            out["result"].setdefault(name, result)
    return out


def rows_of(
    part: str, modes: tuple[str, str], timing: dict[str, Any], cpu: bool = True, **info: Any
) -> list[dict[str, Any]]:
    """The two table rows of a comparison: median seconds, tokens/s and the ratio against sequential
    (and the same for CPU seconds when ``cpu``: not for the endpoint, whose work is in the server)."""
    rows = []
    for mode, name in zip(modes, ("sequential", "batched"), strict=True):
        seconds = median(timing["seconds"][name])
        extra = dict(info, seconds_all=timing["seconds"][name])
        if "requests" in info:
            extra["requests_per_s"] = round(info["requests"] / seconds, 1)
        if "env_steps" in info:
            extra["steps_per_s"] = round(info["env_steps"] / seconds, 2)
        if name == "batched":
            extra["ratio"] = round(median(timing["seconds"]["sequential"]) / seconds, 2)
        if cpu:
            extra["cpu_seconds"] = median(timing["cpu_seconds"][name])
            extra["cpu_seconds_all"] = timing["cpu_seconds"][name]
            if name == "batched":
                extra["cpu_ratio"] = round(median(timing["cpu_seconds"]["sequential"]) / extra["cpu_seconds"], 2)
        rows.append(row(part, mode, seconds, timing["tokens"][name], **extra))
    return rows


def row(part: str, mode: str, seconds: float, tokens: int, **extra: Any) -> dict[str, Any]:
    return {
        "part": part,
        "mode": mode,
        "seconds": round(seconds, 3),
        "completion_tokens": tokens,
        "tokens_per_s": round(tokens / seconds, 1) if tokens else None,
        **extra,
    }


def reader_prompts(model: HFChatModel, episodes: list) -> list[list[dict[str, str]]]:
    """Short prompts: each episode's first question over a memory of its first sentences (an LLM reader's call)."""
    reader = LLMReader(model)
    prompts = []
    for episode in episodes:
        memory = Memory(seed=0)
        for chunk in episode.chunks[:3]:
            memory.insert("semantic", chunk.split(". ")[0])
        question = episode.questions[0]
        prompts.append(reader.messages(question, memory_context(memory, 3)(question)))
    return prompts


def writer_prompts(episodes: list) -> tuple[list[list[dict[str, str]]], list[dict]]:
    """Long prompts: each episode's first MemAlpha-v0 writer prompt (system prompt, memory, chunk), and the tools."""
    env = gym.make("memenv/MemAlpha-v0")
    prompts = []
    for episode in episodes:
        _, info = env.reset(seed=0, options={"episode": episode})
        prompts.append(info["messages"])
    env.close()
    return prompts, info["tools"]


def bench_model(model: HFChatModel, episodes: list, max_new_tokens: int, repeats: int) -> list[dict[str, Any]]:
    """Each prompt set twice: with ``max_new_tokens`` and with 1 new token (the prompt pass alone); the
    difference is the decoding time, whose ratio shows what batching does to the token-by-token part."""
    rows = []
    long_prompts, tools = writer_prompts(episodes)
    for part, prompts, schemas in (
        ("model, reader prompts", reader_prompts(model, episodes), None),
        ("model, writer prompts", long_prompts, tools),
    ):
        timings = {}
        for budget in (max_new_tokens, 1):

            def one_by_one(prompts: list = prompts, schemas: list | None = schemas, budget: int = budget) -> list[str]:
                return [model.generate(p, tools=schemas, max_new_tokens=budget) for p in prompts]

            def together(prompts: list = prompts, schemas: list | None = schemas, budget: int = budget) -> list[str]:
                return model.generate_batch(prompts, tools=schemas, max_new_tokens=budget)

            timings[budget] = compare(model, one_by_one, together, repeats)
            if timings[budget]["result"]["batched"] != timings[budget]["result"]["sequential"]:
                raise SystemExit(f"{part}: the batched replies differ from the sequential ones")
        lengths = [
            len(model.tokenizer(model.render_prompt(p, schemas), add_special_tokens=False)["input_ids"])
            for p in prompts
        ]
        info = {"prompts": len(prompts), "prompt_tokens_mean": round(sum(lengths) / len(lengths))}
        pair = rows_of(part, ("sequential", "batched"), timings[max_new_tokens], **info)
        decode = {}
        for r, name in zip(pair, ("sequential", "batched"), strict=True):
            r["prompt_pass_seconds"] = median(timings[1]["seconds"][name])
            decode[name] = r["seconds"] - r["prompt_pass_seconds"]
            r["decode_seconds"] = round(decode[name], 3)
            r["prompt_pass_cpu_seconds"] = median(timings[1]["cpu_seconds"][name])
            decode[f"{name} cpu"] = r["cpu_seconds"] - r["prompt_pass_cpu_seconds"]
            r["decode_cpu_seconds"] = round(decode[f"{name} cpu"], 3)
        if decode["batched"] > 0:
            pair[1]["decode_ratio"] = round(decode["sequential"] / decode["batched"], 2)
        if decode["batched cpu"] > 0:
            pair[1]["decode_cpu_ratio"] = round(decode["sequential cpu"] / decode["batched cpu"], 2)
        rows += pair
    return rows


def bench_rollout(
    model: HFChatModel, episodes: list, max_new_tokens: int, num_envs: int, repeats: int
) -> list[dict[str, Any]]:
    system = EnvPolicy("mem-alpha-llm", LLMPolicy(model, max_new_tokens=max_new_tokens))
    reader = EvidenceReader()
    cached_before = model.usage["prompt_tokens_cached"], model.usage["prompt_tokens"]
    shared_before = model.usage["prompt_tokens_shared"]
    timing = compare(
        model,
        lambda: [system.run(e, reader) for e in episodes],
        lambda: system.run_many(episodes, reader, num_envs=num_envs),
        repeats,
    )
    alone, together = timing["result"]["sequential"], timing["result"]["batched"]
    if not all(same(a, b) for a, b in zip(alone, together, strict=True)):
        raise SystemExit("rollout: lock-step results differ from the sequential ones")
    cached = model.usage["prompt_tokens_cached"] - cached_before[0]
    prompt = model.usage["prompt_tokens"] - cached_before[1]
    info = {
        "episodes": len(episodes),
        "env_steps": sum(len(e.chunks) for e in episodes),
        "num_envs": num_envs,
        "prompt_tokens_from_prefix_cache": round(cached / prompt, 3) if prompt else 0.0,
        # of the lock-step runs' prompt tokens (half of all: both modes run the same prompts), those the
        # batches decoded over one copy shared by their rows
        "prompt_tokens_shared_in_lockstep": round(2 * (model.usage["prompt_tokens_shared"] - shared_before) / prompt, 3)
        if prompt
        else 0.0,
    }
    rows = rows_of("rollout", ("sequential (run)", "lock-step (run_many)"), timing, **info)
    # The prompt pass (HFChatModel.usage["prompt_seconds"]) is the same arithmetic batched or not, and on a CPU
    # about as fast: a lock-step run takes at least its own prompt pass, however cheap decoding gets.
    for r, name in zip(rows, ("sequential", "batched"), strict=True):
        r["prompt_pass_seconds"] = median(timing["prompt_seconds"][name])
        r["decode_seconds"] = round(r["seconds"] - r["prompt_pass_seconds"], 3)
    sequential, batched = rows
    if batched["decode_seconds"] > 0:
        batched["decode_ratio"] = round(sequential["decode_seconds"] / batched["decode_seconds"], 2)
    batched["ratio_ceiling"] = round(sequential["seconds"] / batched["prompt_pass_seconds"], 2)
    return rows


class _Server(BaseHTTPRequestHandler):
    """Answers every chat request after ``latency`` seconds with a memory insert of the chunk's first words;
    ``GET /stats`` returns the most requests it held at once since the last ``GET /stats``."""

    latency: ClassVar[float] = 0.1
    lock: ClassVar[threading.Lock] = threading.Lock()
    in_flight: ClassVar[int] = 0
    peak: ClassVar[int] = 0

    def do_GET(self) -> None:
        cls = type(self)
        with cls.lock:
            stats, cls.peak = {"peak_in_flight": cls.peak}, 0
        self._send(stats)

    def do_POST(self) -> None:
        cls = type(self)
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
        with cls.lock:
            cls.in_flight += 1
            cls.peak = max(cls.peak, cls.in_flight)
        time.sleep(cls.latency)
        with cls.lock:
            cls.in_flight -= 1
        words = body["messages"][-1]["content"].split("\n", 1)[-1].split()[:8]
        arguments = {"memory_type": "semantic_memory", "content": " ".join(words)}
        call = {"name": "new_memory_insert", "arguments": arguments}
        self._send(
            {
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": f"<tool_call>{json.dumps(call)}</tool_call>"},
                    }
                ]
            }
        )

    def _send(self, payload: dict) -> None:
        data = json.dumps(payload).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


def _serve(latency: float, port: Any) -> None:
    """The test server's process (its own GIL, as a real server has): serves until terminated."""
    _Server.latency = latency

    class Server(ThreadingHTTPServer):
        request_queue_size = 128  # the default listen backlog (5) drops connections a burst of requests opens

    httpd = Server(("127.0.0.1", 0), _Server)
    httpd.daemon_threads = True
    port.value = httpd.server_address[1]
    httpd.serve_forever(poll_interval=0.02)


def bench_endpoint(episodes: list, num_envs: int, latency: float, repeats: int) -> list[dict[str, Any]]:
    import multiprocessing

    import httpx

    context = multiprocessing.get_context("spawn")
    port = context.Value("i", 0)
    server = context.Process(target=_serve, args=(latency, port), daemon=True)
    server.start()
    while not port.value:
        time.sleep(0.02)
    url = f"http://127.0.0.1:{port.value}/v1"
    reader = EvidenceReader()
    peaks: dict[str, int] = {}
    try:
        one = OpenAIChatModel(url, "scripted", concurrency=1)
        many = OpenAIChatModel(url, "scripted", concurrency=num_envs)

        def sequential() -> list[RunResult]:
            httpx.get(f"{url}/stats")  # resets the peak
            results = [EnvPolicy("mem-alpha-llm", LLMPolicy(one)).run(e, reader) for e in episodes]
            peaks["sequential"] = max(peaks.get("sequential", 0), httpx.get(f"{url}/stats").json()["peak_in_flight"])
            return results

        def concurrent() -> list[RunResult]:
            httpx.get(f"{url}/stats")
            results = EnvPolicy("mem-alpha-llm", LLMPolicy(many)).run_many(episodes, reader, num_envs=num_envs)
            peaks["batched"] = max(peaks.get("batched", 0), httpx.get(f"{url}/stats").json()["peak_in_flight"])
            return results

        timing = compare(None, sequential, concurrent, repeats)
        one.close()
        many.close()
    finally:
        server.terminate()
        server.join()
    first, second = timing["result"]["sequential"], timing["result"]["batched"]
    if not all(same(a, b) for a, b in zip(first, second, strict=True)):
        raise SystemExit("endpoint: concurrent results differ from the sequential ones")
    steps = sum(len(e.chunks) for e in episodes)
    rows = rows_of(
        "endpoint",
        ("sequential (run)", "concurrent (run_many)"),
        timing,
        cpu=False,
        requests=steps,
        server_latency_s=latency,
    )
    for r, name, concurrency in zip(rows, ("sequential", "batched"), (1, num_envs), strict=True):
        r.update(concurrency=concurrency, peak_in_flight=peaks[name])
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--parts", nargs="+", choices=PARTS, default=list(PARTS))
    parser.add_argument("--model", default="tiny", help="'tiny' (a random 1M-parameter Qwen2) or a chat-model spec")
    parser.add_argument("--num-envs", type=int, default=8, help="episodes (and prompts) played at once")
    parser.add_argument("--episodes", type=int, default=16, help="episodes per rollout (lengths differ)")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs of each mode (medians reported)")
    parser.add_argument("--prefix-cache-tokens", type=int, default=4096, help="HFChatModel's prefix cache (0: off)")
    parser.add_argument(
        "--no-share-prefix",
        action="store_true",
        help="decode over a full copy of the shared prompt prefix per row (HFChatModel(share_prefix=False)): "
        "the batched loop as before the shared prefix, for before/after numbers from one checkout",
    )
    parser.add_argument("--max-new-tokens", type=int, default=64)
    parser.add_argument("--context-tokens", type=int, default=1024, help="mean episode length (o200k tokens)")
    parser.add_argument("--chunk-tokens", type=int, default=256)
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads")
    parser.add_argument("--server-latency", type=float, default=0.1, help="seconds per request of the test server")
    parser.add_argument("--out", default="benchmarks/results/bench_llm_batch.json")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    load_before = os.getloadavg()
    episodes = suite(args.episodes, args.context_tokens, args.chunk_tokens)
    rows: list[dict[str, Any]] = []
    model = None
    with tempfile.TemporaryDirectory() as folder:
        if {"model", "rollout"} & set(args.parts):
            if args.model == "tiny":
                path = build_tiny_model(Path(folder) / "tiny")
                model = HFChatModel(
                    path,
                    device="cpu",
                    prefix_cache_tokens=args.prefix_cache_tokens,
                    share_prefix=not args.no_share_prefix,
                )
            else:
                model = make_chat_model(
                    args.model, prefix_cache_tokens=args.prefix_cache_tokens, share_prefix=not args.no_share_prefix
                )
                if not isinstance(model, HFChatModel):
                    raise SystemExit("--model must be 'tiny' or an hf: spec (the endpoint part has its own server)")
        if "model" in args.parts:
            rows += bench_model(model, episodes[: args.num_envs], args.max_new_tokens, args.repeats)
        if "rollout" in args.parts:
            rows += bench_rollout(model, episodes, args.max_new_tokens, args.num_envs, args.repeats)
    if "endpoint" in args.parts:
        rows += bench_endpoint(episodes, args.num_envs, args.server_latency, args.repeats)

    line = "{:<24} {:<22} {:>8} {:>7} {:>9} {:>6} {:>9} {:>6} {:>7} {:>7} {:>6} {:>7}"
    header = ("seconds", "tokens", "tokens/s", "req/s", "in flight", "ratio", "decode", "ceiling", "cpu", "cpu dec")
    print(line.format("part", "mode", *header))
    for r in rows:
        cells = (r["seconds"], r["completion_tokens"] or "", r["tokens_per_s"] or "")
        more = (
            r.get("requests_per_s", ""),
            r.get("peak_in_flight", ""),
            r.get("ratio", ""),
            r.get("decode_ratio", ""),
            r.get("ratio_ceiling", ""),
        )
        cpu = (r.get("cpu_ratio", ""), r.get("decode_cpu_ratio", ""))
        print(line.format(r["part"], r["mode"], *cells, *more, *cpu))
    print("ratio: sequential / batched median seconds (= the tokens/s ratio); decode: the same without the prompt pass")
    print("ceiling: sequential seconds / the batched run's own prompt pass: its ratio if decoding cost nothing")
    print("cpu, cpu dec: the same two ratios in process CPU seconds (not counting waits for a busy core)")
    report = {
        "benchmark": "bench_llm_batch",
        "machine": {
            "cpus": os.cpu_count(),
            "load_average_before": [round(x, 2) for x in load_before],
            "load_average_after": [round(x, 2) for x in os.getloadavg()],
            "python": platform.python_version(),
            "platform": platform.platform(),
            "torch": torch.__version__,
            "torch_threads": args.threads,
        },
        "settings": {k: v for k, v in vars(args).items() if k != "out"},
        "episode_chunks": [len(e.chunks) for e in episodes],
        "rows": rows,
    }
    print(
        f"load average before / after (1 min): {load_before[0]:.2f} / {report['machine']['load_average_after'][0]:.2f}"
    )
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
