from __future__ import annotations

import pytest

from memenv.memory import Memory
from memenv.tools import (
    CORE_INSERT,
    DUPLICATE,
    INVALID_ARGUMENT,
    MISSING_ARGUMENT,
    PARSE_ERROR,
    TOOL_NAMES,
    TOOL_SCHEMAS,
    UNKNOWN_ID,
    UNKNOWN_TOOL,
    ToolCall,
    execute,
    result_record,
)


def call(name, **arguments):
    return ToolCall(name, arguments)


def test_schemas_use_mem_alpha_names_and_arguments():
    assert TOOL_NAMES == ("new_memory_insert", "memory_update", "memory_delete")
    params = {s["function"]["name"]: s["function"]["parameters"] for s in TOOL_SCHEMAS}
    assert set(params["new_memory_insert"]["properties"]) == {"memory_type", "content"}
    assert params["new_memory_insert"]["properties"]["memory_type"]["enum"] == ["semantic_memory", "episodic_memory"]
    assert set(params["memory_update"]["properties"]) == {"memory_type", "new_content", "memory_id"}
    assert params["memory_update"]["required"] == ["memory_type", "new_content"]
    assert params["memory_delete"]["properties"]["memory_type"]["enum"] == [
        "core_memory",
        "semantic_memory",
        "episodic_memory",
    ]
    assert all(s["type"] == "function" for s in TOOL_SCHEMAS)


def test_insert_update_delete_round():
    memory = Memory()
    inserted = execute(memory, call("new_memory_insert", memory_type="semantic_memory", content="Ada likes tea."))
    assert inserted.ok and inserted.memory_id
    updated = execute(
        memory,
        call(
            "memory_update",
            memory_type="semantic",
            new_content="Ada likes coffee.",
            memory_id=f"[{inserted.memory_id}]",
        ),
    )
    assert updated.ok
    assert [e.text for e in memory.entries("semantic")] == ["Ada likes coffee."]
    core = execute(memory, call("memory_update", memory_type="core_memory", new_content="Ada is the user."))
    assert core.ok and memory.core == "Ada is the user."
    deleted = execute(memory, call("memory_delete", memory_type="semantic_memory", memory_id=inserted.memory_id))
    assert deleted.ok and memory.entries("semantic") == []
    assert execute(memory, call("memory_delete", memory_type="core_memory")).ok
    assert memory.core == ""


@pytest.mark.parametrize(
    ("tool_call", "kind"),
    [
        (ToolCall("", {}, error="bad json"), PARSE_ERROR),
        (call("memory_search", memory_type="semantic"), UNKNOWN_TOOL),
        (call("new_memory_insert", content="x"), MISSING_ARGUMENT),
        (call("new_memory_insert", memory_type="semantic"), MISSING_ARGUMENT),
        (call("memory_update", memory_type="semantic", new_content="x"), MISSING_ARGUMENT),
        (call("new_memory_insert", memory_type="procedural", content="x"), INVALID_ARGUMENT),
        (call("new_memory_insert", memory_type="semantic", content=["x"]), INVALID_ARGUMENT),
        (call("new_memory_insert", memory_type="semantic", content="   "), INVALID_ARGUMENT),
        (call("memory_delete", memory_type="semantic", memory_id=12), INVALID_ARGUMENT),
        (call("memory_update", memory_type="episodic", new_content="x", memory_id="beef"), UNKNOWN_ID),
        (call("memory_delete", memory_type="episodic", memory_id="beef"), UNKNOWN_ID),
        (call("new_memory_insert", memory_type="core_memory", content="x"), CORE_INSERT),
        (call("new_memory_insert", memory_type="semantic", content="already here"), DUPLICATE),
    ],
)
def test_every_failure_is_classified_and_changes_nothing(tool_call, kind):
    memory = Memory()
    memory.insert("semantic", "already here")
    memory.set_core("core text")
    before = memory.snapshot()
    result = execute(memory, tool_call)
    assert not result.ok
    assert result.error_kind == kind
    assert result.message
    assert memory.snapshot() == before


def test_unknown_id_delete_can_be_ignored_as_in_mem_alpha():
    memory = Memory()
    result = execute(
        memory, call("memory_delete", memory_type="episodic", memory_id="beef"), unknown_id_delete="ignore"
    )
    assert result.ok and "ignored" in result.message


def test_result_record_is_plain_data():
    memory = Memory()
    record = result_record(execute(memory, call("memory_delete", memory_type="semantic", memory_id="0000")))
    assert record == {
        "name": "memory_delete",
        "arguments": {"memory_type": "semantic", "memory_id": "0000"},
        "ok": False,
        "error": "unknown_id",
        "message": "semantic memory has no entry [0000]",
        "memory_id": None,
    }


def test_successful_results_carry_their_fields_in_place():
    # execute builds results positionally (call, ok, error_kind, message, memory_id): a reordered
    # ToolResult would put an id in the message. Every kind of success, field by field:
    import dataclasses

    from memenv.tools import ToolResult

    assert [f.name for f in dataclasses.fields(ToolResult)] == ["call", "ok", "error_kind", "message", "memory_id"]
    memory = Memory(core_token_limit=8)
    inserted = execute(memory, c := call("new_memory_insert", memory_type="semantic", content="Ada likes tea."))
    assert (inserted.call, inserted.ok, inserted.error_kind, inserted.message) == (c, True, None, "")
    assert inserted.memory_id == memory.entries("semantic")[0].id
    update = call("memory_update", memory_type="semantic", new_content="Ada likes rum.", memory_id=inserted.memory_id)
    assert execute(memory, update) == ToolResult(update, True, None, "", inserted.memory_id)
    short, long = (call("memory_update", memory_type="core", new_content=text) for text in ("Ada.", "word " * 40))
    assert execute(memory, short) == ToolResult(short, True, None, "", None)
    assert execute(memory, long) == ToolResult(long, True, None, "core truncated to its token limit", None)
    delete = call("memory_delete", memory_type="semantic", memory_id=f" [{inserted.memory_id}] ")
    assert execute(memory, delete) == ToolResult(delete, True, None, "", inserted.memory_id)
    missing = call("memory_delete", memory_type="semantic", memory_id="beef")
    ignored = execute(memory, missing, unknown_id_delete="ignore")
    assert ignored == ToolResult(missing, True, None, "no such entry; ignored", "beef")
