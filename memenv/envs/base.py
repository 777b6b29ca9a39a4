"""The machinery every memenv environment shares: episodes, the step loop, the reward and the reader.

A concrete environment decides only what is specific to its memory system — how a reply becomes
operations on the memory, what the writer sees, and what the reader is given — through five hooks
(:meth:`MemoryEnv._execute`, :meth:`_memory_view`, :meth:`_messages`, and optionally
:meth:`_parse`, :meth:`_new_memory`, :meth:`_reader_context`). Everything else — the task suite or
a dataset, one step per chunk, Mem-α's reward parts, the terminal question answering, the ``info``
dictionary and the Gymnasium contract — lives here once.
"""

from __future__ import annotations

import functools
import pickle
import string
from collections.abc import Sequence
from typing import Any, ClassVar

import gymnasium as gym
from gymnasium import spaces

from memenv import metrics, tokenizer
from memenv.envs.options import (
    check_bool,
    check_episode,
    check_episodes,
    check_int,
    check_judge,
    check_number,
    check_optional_int,
    check_path,
    check_str,
)
from memenv.envs.spaces import AnyText
from memenv.limits import (
    MAX_CALLS_PER_STEP,
    MAX_CONTEXT_TOKENS,
    MAX_ENTRY_CHARS,
    MAX_REPLY_CHARS,
    bounded_call,
    well_formed,
)
from memenv.memory import Memory
from memenv.metrics import check_profile
from memenv.parsing import parse_tool_calls
from memenv.qa import QA_SIGNALS, ContextFn, answer_questions, memory_context
from memenv.readers import EvidenceReader, Reader
from memenv.reward import (
    ContentJudge,
    GroundingJudge,
    Write,
    compression_reward,
    content_reward,
    tool_call_reward,
    total_reward,
)
from memenv.tasks import COMPETENCIES, SOURCES, Episode, generate, load
from memenv.tasks.synthetic import MAX_QUESTIONS, MIN_CHUNK_TOKENS, SUITES
from memenv.tools import PARSE_ERROR, REPLY_TOO_LONG, TOO_MANY_CALLS, ToolCall, ToolResult, result_record

TASKS = (*COMPETENCIES, "mixed")


class MemoryEnv(gym.Env[dict[str, str], str]):
    """Base class of the memenv environments; see :class:`memenv.envs.MemAlphaEnv` for the manual.

    Subclasses set :attr:`tool_schemas` and implement :meth:`_execute`, :meth:`_memory_view` and
    :meth:`_messages`.
    """

    metadata: ClassVar[dict[str, Any]] = {"render_modes": ["ansi"], "render_fps": 4}
    tool_schemas: ClassVar[list[dict[str, Any]]] = []
    default_system_prompt: ClassVar[str] = ""
    system_prompt_fields: ClassVar[tuple[str, ...]] = ()  # the {fields} a system prompt template may use
    required_system_prompt_fields: ClassVar[tuple[str, ...]] = ()

    def __init__(
        self,
        *,
        task: str,
        context_tokens: int,
        chunk_tokens: int,
        num_questions: int,
        episodes: Sequence[Episode] | None,
        dataset: str | None,
        source: str | None,
        dataset_split: str | None,
        reader: str | Reader,
        reader_top_k: int,
        qa_signal: str,
        beta: float,
        gamma: float,
        judge: ContentJudge | None,
        core_token_limit: int,
        max_memory_tokens: int | None,
        feedback_tool_results: bool,
        system_prompt: str | None,
        render_mode: str | None,
        scoring: str = "default",
        suite: str = "v0",
        max_reply_chars: int = MAX_REPLY_CHARS,
        max_calls_per_step: int = MAX_CALLS_PER_STEP,
        max_entry_chars: int = MAX_ENTRY_CHARS,
    ) -> None:
        # -- argument checks: types and ranges, so a wrong option fails here (memenv.envs.options) --
        task = check_str("task", task)
        if task not in TASKS:
            raise ValueError(f"task must be one of {TASKS}, got {task!r}")
        if render_mode is not None and render_mode not in self.metadata["render_modes"]:
            raise ValueError(f"render_mode must be one of {self.metadata['render_modes']} or None, got {render_mode!r}")
        context_tokens = check_int("context_tokens", context_tokens, minimum=1, maximum=MAX_CONTEXT_TOKENS)
        chunk_tokens = check_int("chunk_tokens", chunk_tokens, minimum=1)
        num_questions = check_int("num_questions", num_questions, minimum=1)
        reader_top_k = check_int("reader_top_k", reader_top_k, minimum=0)
        if qa_signal not in QA_SIGNALS:
            raise ValueError(f"qa_signal must be one of {QA_SIGNALS}, got {qa_signal!r}")
        beta, gamma = check_number("beta", beta), check_number("gamma", gamma)
        judge = check_judge(judge)
        core_token_limit = check_int("core_token_limit", core_token_limit, minimum=1)
        max_memory_tokens = check_optional_int("max_memory_tokens", max_memory_tokens, minimum=1)
        feedback_tool_results = check_bool("feedback_tool_results", feedback_tool_results)
        max_reply_chars = check_int("max_reply_chars", max_reply_chars, minimum=1)
        max_calls_per_step = check_int("max_calls_per_step", max_calls_per_step, minimum=1)
        max_entry_chars = check_int("max_entry_chars", max_entry_chars, minimum=1)
        episodes = check_episodes(episodes)
        dataset = check_path("dataset", dataset)
        source = check_str("source", source, optional=True)
        dataset_split = check_str("dataset_split", dataset_split, optional=True)
        if dataset is not None:
            if episodes is not None:
                raise ValueError("pass either episodes or dataset, not both")
            if source is None:
                raise ValueError(f"dataset={dataset!r} needs source=, one of {SOURCES}")
            episodes = check_episodes(load(source, dataset, split=dataset_split))
        if episodes is None and (
            not MIN_CHUNK_TOKENS <= chunk_tokens <= context_tokens or num_questions > MAX_QUESTIONS
        ):
            # The generator's own rules, checked at construction rather than at the first reset.
            raise ValueError(
                f"need {MIN_CHUNK_TOKENS} <= chunk_tokens <= context_tokens and 1 <= num_questions <= "
                f"{MAX_QUESTIONS}, got chunk_tokens={chunk_tokens}, context_tokens={context_tokens}, "
                f"num_questions={num_questions}"
            )
        self.task = task
        self.context_tokens = context_tokens
        self.chunk_tokens = chunk_tokens
        self.num_questions = num_questions
        self.episodes = episodes
        self.reader = make_reader(reader)
        self.reader_top_k = reader_top_k
        self.qa_signal = qa_signal
        self.beta = beta
        self.gamma = gamma
        self.judge: ContentJudge = judge if judge is not None else GroundingJudge()
        self.core_token_limit = core_token_limit
        self.max_memory_tokens = max_memory_tokens
        self.feedback_tool_results = feedback_tool_results
        self.max_reply_chars = max_reply_chars
        self.max_calls_per_step = max_calls_per_step
        self.max_entry_chars = max_entry_chars
        self.system_prompt = self._check_system_prompt(system_prompt)
        self.render_mode = render_mode
        # Which evaluation protocol scores the questions (memenv.metrics.SCORING_PROFILES).
        self.scoring = check_profile(scoring)
        # Which version of the synthetic generators draws episodes (MemAlpha-v1 & co. pass "v1").
        if suite not in SUITES:
            raise ValueError(f"suite must be one of {SUITES}, got {suite!r}")
        self.suite = suite

        self.observation_space = spaces.Dict({"chunk": AnyText(), "memory": AnyText()})
        self.action_space = AnyText()

        self.episode: Episode | None = None
        self.memory = self._new_memory(0)
        self._step = 0
        self._stream_tokens = 0
        self._last_results: list[ToolResult] = []

    def _check_system_prompt(self, template: str | None) -> str:
        """The system prompt template to use; a custom one may only use this env's ``{fields}``."""
        if template is None:
            return self.default_system_prompt
        if not isinstance(template, str):
            raise TypeError(f"system_prompt must be a str or None, got {type(template).__name__}")
        try:
            used = {name for _, name, _, _ in string.Formatter().parse(template) if name is not None}
        except ValueError as exc:
            raise ValueError(
                f"system_prompt is not a valid format template ({exc}); write literal braces as {{{{ }}}}"
            ) from exc
        allowed = ", ".join("{" + f + "}" for f in self.system_prompt_fields) or "none"
        unknown = sorted(used - set(self.system_prompt_fields))
        if unknown:
            raise ValueError(f"system_prompt uses unknown field(s) {unknown}; this env offers {allowed}")
        missing = [f for f in self.required_system_prompt_fields if f not in used]
        if missing:
            raise ValueError(f"system_prompt must contain {{{missing[0]}}}: this env shows it only there")
        return template

    # -- hooks ---------------------------------------------------------------------------------------

    def _new_memory(self, seed: int) -> Memory:
        return Memory(
            core_token_limit=self.core_token_limit,
            seed=seed,
            token_budget=self.max_memory_tokens,
            max_entry_chars=self.max_entry_chars,
        )

    def _parse(self, text: str) -> list[ToolCall]:
        """The operations in a reply, in order."""
        return parse_tool_calls(text)

    def _execute(self, call: ToolCall) -> tuple[ToolResult, Write | None]:
        """Apply one operation; return its result and, if it changed the memory, what the judge sees."""
        raise NotImplementedError

    def _memory_view(self, chunk: str) -> str:
        """The memory as the writer sees it while reading ``chunk`` ("" after the last chunk)."""
        raise NotImplementedError

    def _messages(self, chunk: str, view: str, feedback: str) -> list[dict[str, str]]:
        """Chat messages for an LLM writer; ``feedback`` reports the previous step's calls (or "")."""
        raise NotImplementedError

    def _reader_context(self) -> ContextFn:
        """What the reader sees for each question, from the final memory."""
        return memory_context(self.memory, self.reader_top_k)

    # -- Gymnasium API -------------------------------------------------------------------------------

    def reset(
        self, *, seed: int | None = None, options: dict[str, Any] | None = None
    ) -> tuple[dict[str, str], dict[str, Any]]:
        """Start an episode. ``options={"episode": Episode}`` plays that episode instead of drawing one."""
        super().reset(seed=seed)
        episode_seed = int(self.np_random.integers(2**31 - 1))
        if options and options.get("episode") is not None:
            self.episode = options["episode"]
            if not isinstance(self.episode, Episode):
                raise TypeError(f"options['episode'] must be a memenv.tasks.Episode, got {type(self.episode).__name__}")
            check_episode(self.episode, "options['episode']")
        elif self.episodes is not None:
            self.episode = self.episodes[int(self.np_random.integers(len(self.episodes)))]
        else:
            task = self.task
            if task == "mixed":
                task = COMPETENCIES[int(self.np_random.integers(len(COMPETENCIES)))]
            self.episode = generate(
                task,
                seed=episode_seed,
                context_tokens=self.context_tokens,
                chunk_tokens=self.chunk_tokens,
                num_questions=self.num_questions,
                suite=self.suite,
            )
        if self.qa_signal == "evidence_recall" and not any(
            metrics.content_words(" ".join(q.evidence)) for q in self.episode.questions
        ):
            raise ValueError(
                f"qa_signal='evidence_recall' needs questions that name their evidence; episode "
                f"{self.episode.id!r} (source {self.episode.source!r}) has none"
            )
        self.memory = self._new_memory(episode_seed)
        self._step = 0
        self._stream_tokens = tokenizer.count_stream_tokens(self.episode.chunks)
        self._last_results = []
        obs = self._observation()
        return obs, self._info(obs)

    def step(self, action: str) -> tuple[dict[str, str], float, bool, bool, dict[str, Any]]:
        if self.episode is None:
            raise RuntimeError("call reset() before step()")
        if self._step >= len(self.episode.chunks):
            raise RuntimeError("the episode has terminated; call reset()")
        chunk = self.episode.chunks[self._step]
        calls, refusal = self._read_reply(action)
        results: list[ToolResult] = [] if refusal is None else [refusal]
        writes: list[Write] = []
        for call in calls:
            result, write = self._execute(call)
            results.append(result)
            if write is not None:
                writes.append(write)
        self._last_results = results
        self._step += 1
        terminated = self._step == len(self.episode.chunks)

        components = {
            "r1_qa": 0.0,
            "r2_tool_call": tool_call_reward(results),
            "r3_compression": 0.0,
            "r4_content": content_reward(writes, chunk, self.judge),
        }
        qa = None
        if terminated:
            qa = answer_questions(self.episode.questions, self._reader_context(), self.reader, scoring=self.scoring)
            components["r1_qa"] = qa.signal(self.qa_signal)
            components["r3_compression"] = compression_reward(self.memory.tokens(), self._stream_tokens)
        reward = total_reward(components, self.beta, self.gamma)

        obs = self._observation()
        info = self._info(obs)
        info["reward_components"] = components
        info["tool_results"] = [result_record(r) for r in results]
        if not isinstance(action, str):
            info["parse_error"] = f"action must be a str, got {type(action).__name__}"
        else:
            errors = [r.message for r in results if r.error_kind in (PARSE_ERROR, REPLY_TOO_LONG, TOO_MANY_CALLS)]
            info["parse_error"] = "; ".join(errors) if errors else None
        if qa is not None:
            info["qa"] = qa.as_info()
            info["memory"] = self.memory.snapshot()
        return obs, reward, terminated, False, info

    def render(self) -> str | None:
        if self.render_mode != "ansi" or self.episode is None:
            return None
        total = len(self.episode.chunks)
        header = f"[{self.episode.id}] step {self._step}/{total}, memory {self.memory.tokens()} tokens"
        return f"{header}\n{self._observation()['memory']}\n"

    # -- internals -----------------------------------------------------------------------------------

    def _read_reply(self, action: object) -> tuple[list[ToolCall], ToolResult | None]:
        """The calls of a reply within the caps (:mod:`memenv.limits`), or why none of them runs.

        Lone surrogates become U+FFFD before parsing; a reply over ``max_reply_chars`` is not parsed,
        one with more than ``max_calls_per_step`` calls runs none (either way one failed call stands
        for the reply); a call whose arguments nest too deep becomes a parse error. What is returned
        holds fresh, well-formed, shallow data only, so ``info`` always pickles and encodes.
        """
        if not isinstance(action, str):
            return [], None
        if len(action) > self.max_reply_chars:
            message = (
                f"the reply has {len(action):,} characters, over the cap of {self.max_reply_chars:,}; none was read"
            )
            return [], ToolResult(ToolCall(name=""), False, REPLY_TOO_LONG, message)
        calls = self._parse(well_formed(action))
        if len(calls) > self.max_calls_per_step:
            message = f"the reply holds {len(calls):,} calls, over the cap of {self.max_calls_per_step:,}; none ran"
            return [], ToolResult(ToolCall(name=""), False, TOO_MANY_CALLS, message)
        return [bounded_call(call) for call in calls], None

    @functools.cached_property
    def _tool_schemas_pickle(self) -> bytes:
        # Unpickling gives a fresh deep copy of the schemas ~6x faster than copy.deepcopy.
        return pickle.dumps(self.tool_schemas, protocol=pickle.HIGHEST_PROTOCOL)

    @property
    def current_chunk(self) -> str:
        """The chunk the writer reads at this step ("" once the episode is over)."""
        assert self.episode is not None
        return self.episode.chunks[self._step] if self._step < len(self.episode.chunks) else ""

    def _observation(self) -> dict[str, str]:
        chunk = self.current_chunk
        return {"chunk": chunk, "memory": self._memory_view(chunk)}

    def _info(self, obs: dict[str, str]) -> dict[str, Any]:
        assert self.episode is not None
        info: dict[str, Any] = {
            "step": self._step,
            "num_chunks": len(self.episode.chunks),
            "memory_tokens": self.memory.tokens(),
            "competency": self.episode.competency,
            "episode_id": self.episode.id,
            # A fresh copy each time: callers (and check_env) may mutate what we hand out.
            "tools": pickle.loads(self._tool_schemas_pickle),
            "messages": [],
        }
        if obs["chunk"]:
            feedback = ""
            if self.feedback_tool_results and self._last_results:
                feedback = "Results of your previous calls:\n" + "\n".join(
                    f"- {r.call.name or '(unreadable)'}: " + ("ok" if r.ok else f"failed ({r.error_kind}: {r.message})")
                    for r in self._last_results
                )
            info["messages"] = self._messages(obs["chunk"], obs["memory"], feedback)
        return info


def make_reader(reader: str | Reader) -> Reader:
    """``"evidence"`` (the default offline reader) or a :class:`~memenv.readers.Reader` instance."""
    if isinstance(reader, Reader):
        return reader
    if reader == "evidence":
        return EvidenceReader()
    raise ValueError(f"reader must be 'evidence' or a memenv.readers.Reader instance, got {reader!r}")
