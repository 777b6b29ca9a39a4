from __future__ import annotations

import json
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from memenv.parsing import MAX_REPAIR_COST, MAX_REPAIR_COST_PER_REPLY, STYLES, parse_tool_calls, render_tool_calls
from memenv.tools import ToolCall


def calls_of(text: str) -> list[tuple[str, dict]]:
    """(name, arguments) of each call, for calls that parsed without error."""
    calls = parse_tool_calls(text)
    assert all(call.error is None for call in calls), calls
    return [(call.name, call.arguments) for call in calls]


# --- Qwen-Agent ------------------------------------------------------------------------------------------


def test_qwen_agent_several_calls_in_order():
    text = (
        "Storing the facts.\n"
        "✿FUNCTION✿: new_memory_insert\n"
        '✿ARGS✿: {"memory_type": "semantic_memory", "content": "Paris is in France"}\n'
        "✿FUNCTION✿: memory_update\n"
        '✿ARGS✿: {"memory_type": "core_memory", "new_content": "User: Ann"}'
    )
    calls = parse_tool_calls(text)
    assert [(c.name, c.arguments) for c in calls] == [
        ("new_memory_insert", {"memory_type": "semantic_memory", "content": "Paris is in France"}),
        ("memory_update", {"memory_type": "core_memory", "new_content": "User: Ann"}),
    ]
    assert calls[0].raw == (
        '✿FUNCTION✿: new_memory_insert\n✿ARGS✿: {"memory_type": "semantic_memory", "content": "Paris is in France"}'
    )


def test_qwen_agent_drops_everything_from_hallucinated_result():
    text = (
        "✿FUNCTION✿: memory_delete\n"
        '✿ARGS✿: {"memory_type": "core"}\n'
        "✿RESULT✿: deleted\n"
        "✿FUNCTION✿: new_memory_insert\n"
        '✿ARGS✿: {"memory_type": "episodic", "content": "after the fake result"}'
    )
    assert calls_of(text) == [("memory_delete", {"memory_type": "core"})]


def test_qwen_agent_stops_at_return():
    text = '✿FUNCTION✿: f\n✿ARGS✿: {"a": "1"}\n✿RETURN✿: done\n✿FUNCTION✿: g\n✿ARGS✿: {}'
    assert calls_of(text) == [("f", {"a": "1"})]


def test_qwen_agent_marker_text_inside_json_arguments_is_content():
    # Issue 12: the marker inside a JSON string made a second, bogus call (and cost r2).
    text = (
        "✿FUNCTION✿: new_memory_insert\n"
        '✿ARGS✿: {"memory_type": "semantic_memory", "content": "mentions ✿FUNCTION✿ inside"}'
    )
    assert calls_of(text) == [
        ("new_memory_insert", {"memory_type": "semantic_memory", "content": "mentions ✿FUNCTION✿ inside"})
    ]
    # Every marker, with its colon, inside one argument string; the next real pair is still read.
    content = "see ✿FUNCTION✿: x, ✿ARGS✿: {} and ✿RESULT✿: y"
    text = (
        f'✿FUNCTION✿: new_memory_insert\n✿ARGS✿: {{"memory_type": "episodic", "content": "{content}"}}\n'
        '✿FUNCTION✿: memory_delete\n✿ARGS✿: {"memory_type": "core"}'
    )
    assert calls_of(text) == [
        ("new_memory_insert", {"memory_type": "episodic", "content": content}),
        ("memory_delete", {"memory_type": "core"}),
    ]
    # In a fenced argument block too.
    text = '✿FUNCTION✿: f\n✿ARGS✿: ```json\n{"a": "x ✿ARGS✿ y"}\n```'
    assert calls_of(text) == [("f", {"a": "x ✿ARGS✿ y"})]


def test_marker_text_inside_hermes_or_bare_json_does_not_switch_format():
    hermes = '<tool_call>{"name": "f", "arguments": {"content": "a ✿FUNCTION✿: b"}}</tool_call>'
    assert calls_of(hermes) == [("f", {"content": "a ✿FUNCTION✿: b"})]
    bare = '{"name": "f", "arguments": {"content": "✿ARGS✿: {}"}}'
    assert calls_of(bare) == [("f", {"content": "✿ARGS✿: {}"})]
    # A fenced Qwen-Agent reply is still read as Qwen-Agent.
    assert calls_of('```\n✿FUNCTION✿: f\n✿ARGS✿: {"a": 1}\n```') == [("f", {"a": 1})]


def test_qwen_agent_several_args_call_the_function_again():
    # Qwen-Agent turns each ✿ARGS✿ after one ✿FUNCTION✿ into a call of that function.
    text = '✿FUNCTION✿: new_memory_insert\n✿ARGS✿: {"content": "a"}\n✿ARGS✿: {"content": "b"}'
    assert calls_of(text) == [("new_memory_insert", {"content": "a"}), ("new_memory_insert", {"content": "b"})]


def test_qwen_agent_function_without_args_has_empty_arguments():
    assert calls_of("✿FUNCTION✿: memory_delete\nI will now delete.") == [("memory_delete", {})]


def test_qwen_agent_args_without_function_is_a_failed_call():
    [call] = parse_tool_calls('✿ARGS✿: {"memory_type": "core"}')
    assert call.name == ""
    assert call.arguments == {}
    assert call.error == "✿ARGS✿ without a ✿FUNCTION✿ before it"
    assert call.raw == '✿ARGS✿: {"memory_type": "core"}'


def test_qwen_agent_unreadable_args_keep_the_name():
    [call] = parse_tool_calls("✿FUNCTION✿: new_memory_insert\n✿ARGS✿: memory_type=semantic")
    assert call.name == "new_memory_insert"
    assert call.arguments == {}
    assert call.error == "the text after ✿ARGS✿ is not a JSON object"


def test_qwen_agent_function_without_name_is_a_failed_call():
    [call] = parse_tool_calls('✿FUNCTION✿:\n✿ARGS✿: {"a": "b"}')
    assert (call.name, call.arguments) == ("", {})
    assert call.error == "✿FUNCTION✿ is not followed by a name"


# --- Hermes / Qwen native ------------------------------------------------------------------------------


def test_hermes_several_calls_with_prose_between():
    text = (
        "I'll save two things.\n"
        '<tool_call>\n{"name": "new_memory_insert", "arguments": {"memory_type": "semantic", "content": "a"}}\n'
        "</tool_call>\nand\n"
        '<tool_call>{"name": "memory_delete", "arguments": {"memory_type": "episodic", "memory_id": "e1"}}'
        "</tool_call>"
    )
    calls = parse_tool_calls(text)
    assert [(c.name, c.arguments) for c in calls] == [
        ("new_memory_insert", {"memory_type": "semantic", "content": "a"}),
        ("memory_delete", {"memory_type": "episodic", "memory_id": "e1"}),
    ]
    assert calls[1].raw == (
        '<tool_call>{"name": "memory_delete", "arguments": {"memory_type": "episodic", "memory_id": "e1"}}</tool_call>'
    )


def test_hermes_unclosed_final_block_is_read():
    text = (
        '<tool_call>{"name": "a", "arguments": {}}</tool_call>\n'
        '<tool_call>\n{"name": "memory_update", "arguments": {"memory_type": "core", "new_content": "cut off'
    )
    assert calls_of(text) == [("a", {}), ("memory_update", {"memory_type": "core", "new_content": "cut off"})]


def test_hermes_arguments_as_json_string_are_decoded():
    inner = json.dumps({"memory_type": "semantic_memory", "content": 'say "hi"'})
    text = "<tool_call>" + json.dumps({"name": "new_memory_insert", "arguments": inner}) + "</tool_call>"
    assert calls_of(text) == [("new_memory_insert", {"memory_type": "semantic_memory", "content": 'say "hi"'})]


def test_hermes_drops_calls_after_hallucinated_tool_response():
    text = (
        '<tool_call>{"name": "a", "arguments": {}}</tool_call>\n<tool_response>ok</tool_response>\n'
        '<tool_call>{"name": "b", "arguments": {}}</tool_call>'
    )
    assert calls_of(text) == [("a", {})]


def test_qwen3_thinking_block_is_not_read():
    text = (
        '<think>Maybe <tool_call>{"name": "draft", "arguments": {}}</tool_call>? No.</think>\n\n'
        '<tool_call>{"name": "final", "arguments": {"x": "1"}}</tool_call>'
    )
    assert calls_of(text) == [("final", {"x": "1"})]


def test_hermes_empty_block_is_not_a_call():
    # Qwen-Agent's parser skips a block with nothing in it; a failed call would cost r2.
    assert parse_tool_calls("<tool_call></tool_call>") == []
    assert parse_tool_calls("<tool_call>\n  \n</tool_call>") == []
    text = '<tool_call>{"name": "memory_delete", "arguments": {"memory_type": "core"}}</tool_call>\n'
    assert calls_of(text + "<tool_call></tool_call>") == [("memory_delete", {"memory_type": "core"})]
    assert calls_of(text + "<tool_call>") == [("memory_delete", {"memory_type": "core"})]
    # A block with something unreadable in it is still a failed call.
    [call] = parse_tool_calls("<tool_call>```json\n```</tool_call>")
    assert (call.name, call.error) == ("", "the <tool_call> block is empty")


def test_broken_block_reports_error_and_guesses_name():
    [call] = parse_tool_calls('<tool_call>{"name": "memory_update", "arguments": {"memory_type": \'</tool_call>')
    # repair turns the dangling quote into an empty string value, so this one is read
    assert (call.name, call.arguments, call.error) == ("memory_update", {"memory_type": ""}, None)
    [call] = parse_tool_calls('<tool_call>"name": "memory_update", "arguments": {}</tool_call>')
    assert call.name == "memory_update"
    assert call.arguments == {}
    assert call.error == "the <tool_call> block is not JSON"


# --- bare JSON -------------------------------------------------------------------------------------------


def test_bare_object_and_list():
    assert calls_of('  {"name": "a", "arguments": {"k": "v"}}  ') == [("a", {"k": "v"})]
    assert calls_of('[{"name": "a", "arguments": {}}, {"name": "b", "arguments": {"n": 2}}]') == [
        ("a", {}),
        ("b", {"n": 2}),
    ]


def test_bare_objects_one_per_line():
    text = '{"name": "a", "arguments": {}}\n{"name": "b", "arguments": {}}\nDone.'
    assert calls_of(text) == [("a", {}), ("b", {})]


def test_fenced_json_with_openai_style_calls():
    text = (
        "```json\n"
        '[{"type": "function", "function": {"name": "memory_delete", '
        '"arguments": "{\\"memory_type\\": \\"core\\"}"}}]\n'
        "```\nThat is all."
    )
    assert calls_of(text) == [("memory_delete", {"memory_type": "core"})]


def test_tool_calls_wrapper():
    text = json.dumps(
        {
            "tool_calls": [
                {"type": "function", "function": {"name": "x", "arguments": '{"a": "1"}'}},
                {"name": "y", "arguments": {"b": "2"}},
            ]
        }
    )
    assert calls_of(text) == [("x", {"a": "1"}), ("y", {"b": "2"})]


def test_fenced_block_that_is_not_json_is_not_a_call():
    assert parse_tool_calls("```python\nprint('hello')\n```") == []


# --- repair ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "<tool_call>{'name': 'new_memory_insert', 'arguments': {'memory_type': 'semantic', 'content': 'x'}}"
        "</tool_call>",
        '<tool_call>{"name": "new_memory_insert", "arguments": {"memory_type": "semantic", "content": "x",},}'
        "</tool_call>",
        '<tool_call>{"name": "new_memory_insert", "arguments": {"memory_type": "semantic", "content": "x"}</tool_call>',
        "✿FUNCTION✿: new_memory_insert\n✿ARGS✿: {'memory_type': 'semantic', 'content': 'x',",
        "{'name': 'new_memory_insert', 'arguments': {'memory_type': 'semantic', 'content': 'x',}",
    ],
    ids=["single-quotes", "trailing-commas", "missing-brace", "qwen-quotes-comma-brace", "bare-quotes-brace"],
)
def test_broken_json_is_repaired(text):
    assert calls_of(text) == [("new_memory_insert", {"memory_type": "semantic", "content": "x"})]


def test_raw_newlines_inside_strings_are_accepted():
    text = '<tool_call>{"name": "a", "arguments": {"content": "line 1\nline 2"}}</tool_call>'
    assert calls_of(text) == [("a", {"content": "line 1\nline 2"})]


# --- names and values pass through -----------------------------------------------------------------------


def test_bare_tier_names_and_values_pass_through_unchanged():
    text = (
        '<tool_call>{"name": "  memory_update ", "arguments": {"memory_type": "core", "new_content": 5}}'
        '</tool_call><tool_call>{"name": "new_memory_insert", "arguments": {"memory_type": "semantic"}}'
        '</tool_call><tool_call>{"name": "no_such_tool", "arguments": {"x": [1, 2]}}</tool_call>'
    )
    assert calls_of(text) == [
        ("memory_update", {"memory_type": "core", "new_content": 5}),
        ("new_memory_insert", {"memory_type": "semantic"}),
        ("no_such_tool", {"x": [1, 2]}),
    ]


# --- no call / failed call -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   \n ",
        "Nothing worth remembering here.",
        'The set {a, b} and the map {"name": "x", "arguments": {}} are examples.',
        "We have [1, 2, 3] and } { unbalanced braces.",
        "</tool_call> stray closing tag",
    ],
)
def test_text_without_a_call_gives_no_calls(text):
    assert parse_tool_calls(text) == []


@pytest.mark.parametrize(
    ("text", "name", "error"),
    [
        ('{"arguments": {"a": 1}}', "", "the call has no name"),
        ('{"name": 7, "arguments": {}}', "", "the call has a name that is a number, not a string"),
        ('{"name": "  ", "arguments": {}}', "", "the call has an empty name"),
        ('{"name": "f", "arguments": [1, 2]}', "f", "the arguments must be a JSON object, got a list"),
        ('{"name": "f", "arguments": "memory_type=core"}', "f", "the arguments string is not a JSON object"),
        ("[3]", "", "a call must be a JSON object, got a number"),
    ],
)
def test_attempted_but_broken_call_is_an_error_call(text, name, error):
    assert parse_tool_calls(text) == [ToolCall(name=name, arguments={}, error=error, raw=text)]


def test_null_or_missing_arguments_mean_empty_arguments():
    assert calls_of('[{"name": "a"}, {"name": "b", "arguments": null}, {"name": "c", "arguments": ""}]') == [
        ("a", {}),
        ("b", {}),
        ("c", {}),
    ]


# --- repair cannot hang ----------------------------------------------------------------------------------


WRAPS = {
    "hermes": lambda body: "<tool_call>" + body + "</tool_call>",
    "qwen": lambda body: "✿FUNCTION✿: f\n✿ARGS✿: " + (body if body.startswith("{") else '{"a": ' + body),
    "bare": lambda body: body,
}


@pytest.mark.parametrize(
    "body",
    ["{'" * 50_000, '{"a"' * 25_000, "{a:b " * 20_000, "[" * 200_000, "{" + "x" * 1_000_000],
    ids=["quote-brace", "key-brace", "bare-key", "deep-list", "long-string"],
)
@pytest.mark.parametrize("wrap", WRAPS.values(), ids=WRAPS.keys())
def test_huge_tangled_json_fails_fast(body, wrap):
    # Unguarded, json_repair needs ~90 s for 64 KiB of "{'{'...": the cost limit must refuse it at once.
    start = time.perf_counter()
    calls = parse_tool_calls(wrap(body))
    assert time.perf_counter() - start < 5.0
    assert len(calls) == 1
    assert calls[0].arguments == {}
    assert "too long or tangled to repair" in calls[0].error


def test_reply_repair_budget_is_shared_between_calls():
    # One block: 12 brackets/quotes in ~36 K characters, a cost of ~1.9 M, just under the per-call
    # limit; the reply's 6 M allowance covers three such blocks, not four.
    body = "{'name': 'f', 'arguments': {'c': '" + "x" * 36_000 + "}"
    cost = len(body) * (40 + 12)
    assert cost <= MAX_REPAIR_COST and 3 * cost <= MAX_REPAIR_COST_PER_REPLY < 4 * cost
    calls = parse_tool_calls(("<tool_call>" + body + "</tool_call>") * 5)
    assert [call.error is None for call in calls] == [True, True, True, False, False]
    assert calls[0].arguments == {"c": "x" * 36_000}
    assert calls[4].error.endswith("within this reply's remaining repair budget")


# --- rendering -------------------------------------------------------------------------------------------


def test_render_each_style_exactly():
    calls = [
        ToolCall(name="memory_delete", arguments={"memory_type": "core"}),
        {"name": "new_memory_insert", "arguments": {"memory_type": "semantic", "content": "Zoë <b>"}},
    ]
    assert render_tool_calls(calls) == (
        '<tool_call>\n{"name": "memory_delete", "arguments": {"memory_type": "core"}}\n</tool_call>\n'
        '<tool_call>\n{"name": "new_memory_insert", "arguments": {"memory_type": "semantic", '
        '"content": "Zoë \\u003cb>"}}\n</tool_call>'
    )
    assert render_tool_calls(calls, "qwen") == (
        '✿FUNCTION✿: memory_delete\n✿ARGS✿: {"memory_type": "core"}\n'
        '✿FUNCTION✿: new_memory_insert\n✿ARGS✿: {"memory_type": "semantic", "content": "Zoë \\u003cb>"}'
    )
    assert render_tool_calls(calls, "json") == (
        '[{"name": "memory_delete", "arguments": {"memory_type": "core"}}, '
        '{"name": "new_memory_insert", "arguments": {"memory_type": "semantic", "content": "Zoë \\u003cb>"}}]'
    )


def test_render_no_calls():
    assert render_tool_calls([], "hermes") == ""
    assert render_tool_calls([], "qwen") == ""
    assert render_tool_calls([], "json") == "[]"
    assert parse_tool_calls("[]") == []


def test_render_rejects_unknown_style_naming_the_valid_ones():
    with pytest.raises(ValueError, match="unknown style 'xml': expected one of 'hermes', 'qwen', 'json'"):
        render_tool_calls([], "xml")


@pytest.mark.parametrize(
    "call",
    [
        {"name": "", "arguments": {}},
        {"name": " padded", "arguments": {}},
        {"name": "two\nlines", "arguments": {}},
        {"name": "a✿b", "arguments": {}},
        {"arguments": {}},
        {"name": "f", "arguments": "{}"},
        {"name": "f", "arguments": {1: "x"}},
        {"name": "f", "arguments": {"x": object()}},
    ],
)
def test_render_rejects_calls_it_cannot_write(call):
    with pytest.raises(ValueError, match="call 0"):
        render_tool_calls([call])


MARKERISH = st.sampled_from(
    [
        "✿FUNCTION✿: memory_delete",
        "✿ARGS✿: {}",
        "✿RESULT✿",
        "✿RETURN✿",
        "<tool_call>",
        "</tool_call>",
        "<tool_response>",
        "</think>",
        "```json\n{",
        "{'a': 1,}",
        '"}',
        "\\",
        "\n",
        "{{",
        "]]",
    ]
)
NAMES = st.from_regex(r"[A-Za-z_][A-Za-z0-9_.:-]{0,24}", fullmatch=True) | st.text(min_size=1, max_size=12).filter(
    lambda name: name == name.strip() and name != "" and not any(char in name for char in "\n\r✿<")
)
VALUES = st.one_of(
    st.text(),
    MARKERISH,
    st.lists(MARKERISH | st.text(max_size=5)).map("".join),
    st.integers(),
    st.booleans(),
    st.none(),
    st.floats(allow_nan=False),
)
CALLS = st.lists(
    st.fixed_dictionaries({"name": NAMES, "arguments": st.dictionaries(st.text(max_size=8), VALUES, max_size=4)}),
    max_size=4,
)


@settings(max_examples=200, deadline=None)
@given(calls=CALLS, style=st.sampled_from(STYLES))
def test_render_then_parse_round_trips(calls, style):
    parsed = parse_tool_calls(render_tool_calls(calls, style))
    assert [(c.name, c.arguments, c.error) for c in parsed] == [(c["name"], c["arguments"], None) for c in calls]


# --- never raises ----------------------------------------------------------------------------------------

FRAGMENTS = st.one_of(
    MARKERISH,
    st.sampled_from(
        ['{"name": "f", "arguments": {', '"arguments": "{', "```", "{", "}", "[", "]", '"', "'", ":", ",", "✿ARGS✿"]
    ),
    st.text(max_size=12),
)


@settings(max_examples=300, deadline=None)
@given(text=st.one_of(st.text(), st.lists(FRAGMENTS, max_size=40).map("".join)))
def test_parse_never_raises(text):
    calls = parse_tool_calls(text)
    assert isinstance(calls, list)
    for call in calls:
        assert isinstance(call, ToolCall)
        assert isinstance(call.name, str) and call.name == call.name.strip()
        assert isinstance(call.arguments, dict)
        assert call.error is None or (isinstance(call.error, str) and call.arguments == {})
        assert not (call.error or "").startswith("internal parser error")
        assert isinstance(call.raw, str) and call.raw


def test_parse_rejects_non_str():
    with pytest.raises(TypeError, match="expects the reply as a str, got bytes"):
        parse_tool_calls(b"<tool_call>")  # type: ignore[arg-type]


def _reference_render(calls, style="hermes"):
    """render_tool_calls as first written: every call checked (its arguments dumped once to see that
    they can be) before any is written."""
    import json

    from memenv.parsing import FN_ARGS, FN_NAME, TOOL_CALL_CLOSE, TOOL_CALL_OPEN, dump_json

    items = []
    for index, call in enumerate(calls):
        name, arguments = call.get("name"), call.get("arguments", {})
        if not isinstance(name, str) or not name or name != name.strip() or any(c in name for c in "\n\r✿<"):
            raise ValueError(f"call {index}: bad name")
        if not isinstance(arguments, dict) or not all(isinstance(key, str) for key in arguments):
            raise ValueError(f"call {index} ({name}): bad arguments")
        try:
            json.dumps(arguments)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"call {index} ({name}): arguments cannot be written as JSON: {exc}") from exc
        items.append((name, dict(arguments)))
    if style == "json":
        return dump_json([{"name": name, "arguments": arguments} for name, arguments in items])
    if style == "hermes":
        return "\n".join(
            f"{TOOL_CALL_OPEN}\n{dump_json({'name': n, 'arguments': a})}\n{TOOL_CALL_CLOSE}" for n, a in items
        )
    return "\n".join(f"{FN_NAME}: {n}\n{FN_ARGS}: {dump_json(a)}" for n, a in items)


def test_render_writes_each_call_once_and_fails_like_checking_all_first():
    import random

    rng = random.Random(0)
    circular: dict = {}
    circular["self"] = circular
    values = ["text <tool_call> ✿", "", 3, 2.5, float("nan"), None, True, [1, "a"], {"k": "v"}, {1, 2}, object()]
    values.append(circular)
    names = ["memory_update", "new_memory_insert", "", " pad", "two\nlines", "a<b", "x✿"]
    for _ in range(3000):
        calls = [
            {
                "name": rng.choice(names[:2]) if rng.random() < 0.85 else rng.choice(names),
                "arguments": {
                    f"k{i}": rng.choice(values[:9]) if rng.random() < 0.9 else rng.choice(values)
                    for i in range(rng.randint(0, 3))
                },
            }
            for _ in range(rng.randint(0, 4))
        ]
        for style in ("hermes", "qwen", "json"):
            try:
                expected = _reference_render(calls, style)
            except ValueError as exc:
                with pytest.raises(ValueError) as raised:
                    render_tool_calls(calls, style)
                # The same call fails first; for JSON failures, with the same message.
                assert str(raised.value).split(":")[0] == str(exc).split(":")[0]
                if "cannot be written" in str(exc):
                    assert str(raised.value) == str(exc)
            else:
                assert render_tool_calls(calls, style) == expected


def test_plain_call_fast_path_reads_every_block_as_the_general_path_does(monkeypatch):
    # _plain_call reads the usual block ({"name": str, "arguments": {...}}) without the general path;
    # with it turned off every reply must parse to the very same calls, errors and repairs included.
    import random

    from memenv import parsing

    rng = random.Random(7)
    bodies = [
        '{"name": "new_memory_insert", "arguments": {"memory_type": "semantic_memory", "content": "A b."}}',
        '{"name": "  memory_update ", "arguments": {"memory_type": "core", "new_content": "x\\ny"}}',
        '{"name": "", "arguments": {}}',
        '{"name": "   ", "arguments": {"a": 1}}',
        '{"name": 3, "arguments": {}}',
        '{"name": null, "arguments": {}}',
        '{"arguments": {"a": "b"}}',
        '{"name": "memory_delete"}',
        '{"name": "memory_delete", "arguments": null}',
        '{"name": "memory_delete", "arguments": "{\\"memory_type\\": \\"core\\"}"}',
        '{"name": "memory_delete", "arguments": [1, 2]}',
        '{"name": "memory_delete", "parameters": {"memory_type": "core"}}',
        '{"name": "memory_delete", "arguments": {"memory_type": "core"}, "parameters": {"x": 1}}',
        '{"type": "function", "function": {"name": "memory_delete", "arguments": "{}"}}',
        '{"tool_calls": [{"name": "a", "arguments": {}}, {"name": "b", "arguments": {}}]}',
        '{"tool_calls": "not a list", "name": "a", "arguments": {}}',
        '{"name": "a", "arguments": {"deep": {"x": [1, {"y": "\\ud83d"}]}}}',
        '{"name": "a", "arguments": {}} {"name": "b", "arguments": {}}',
        '{"name": "a", "arguments": {}}, {"name": "b", "arguments": {}}',
        '{"name": "a", "arguments": {}} trailing prose',
        '{"name": "a", "arguments": {"k": 1}, "arguments": "s"}',  # duplicate keys: the last wins
        '{"name": "a", "name": "b", "arguments": {}}',
        '{"name": "\\u3000a\\u2028", "arguments": {}}',  # Unicode whitespace around the name
        '[{"name": "a", "arguments": {}}]',
        "{'name': 'a', 'arguments': {'k': 'v'}}",
        '{"name": "a", "arguments": {"k": "v",}}',
        '{"name": "a", "arguments": {"k": "v"}',
        '{"name": "a", "arguments": {"k": "line\nbreak"}}',
        '```json\n{"name": "a", "arguments": {}}\n```',
        '{"name": "a\\u003c", "arguments": {"k": "\\u273f<tool_call>"}}',
        '{"name": "é", "arguments": {"k": "😀"}}',
        "{}",
        "{",
        "not json",
    ]
    replies = []
    for _ in range(1500):
        blocks = [rng.choice(bodies) for _ in range(rng.randint(0, 5))]
        pads = ["", "\n", " ", "\n\n"]
        reply = rng.choice(["", "Sure.\n", "<think>{}</think>"]) + "".join(
            f"<tool_call>{rng.choice(pads)}{body}{rng.choice(pads)}</tool_call>{rng.choice(pads)}" for body in blocks
        )
        if rng.random() < 0.2:
            reply = reply.rsplit("</tool_call>", 1)[0]  # the last block cut off
        if rng.random() < 0.1:
            reply += "<tool_response>{}</tool_response><tool_call>{}</tool_call>"
        replies.append(reply)
    fast = [parse_tool_calls(reply) for reply in replies]
    assert sum(parsing._plain_call(body, "") is not None for body in bodies) >= 6  # the fast path is taken
    monkeypatch.setattr(parsing, "_plain_call", lambda body, raw: None)
    for reply, calls in zip(replies, fast, strict=True):
        assert calls == parse_tool_calls(reply), reply
