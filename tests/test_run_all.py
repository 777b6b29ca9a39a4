"""Smoke test of benchmarks/run_all.py: a quick run writes one JSON of rows with ratios (no timing asserted)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def load_run_all():
    spec = importlib.util.spec_from_file_location("run_all", ROOT / "benchmarks" / "run_all.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_quick_run_reports_ratios_against_peers_and_a_reference(tmp_path: Path) -> None:
    out = tmp_path / "run_all.json"
    # The reference is this very checkout, so its child runs must agree with ours exactly.
    argv = ["--quick", "--only", "env_step", "bm25", "--repeat", "1", "--reference", str(ROOT), "--out", str(out)]
    report = load_run_all().main(argv)
    assert json.loads(out.read_text()) == json.loads(json.dumps(report))
    rows = {(r["benchmark"], r["peer"]): r for r in report["rows"]}
    reference = next(r for (bench, peer), r in rows.items() if bench == "env_step" and peer.startswith("reference"))
    assert reference["note"] == "same rewards"
    for key in [("bm25", "bm25s retrieve"), ("bm25", "rank_bm25"), ("env_step", "same calls on a bare Memory")]:
        row = rows[key]
        assert row["memenv_s"] > 0 and row["peer_s"] > 0
        assert row["ratio"] == row["peer_s"] / row["memenv_s"]
    assert {r["case"] for r in report["rows"] if r["benchmark"] == "bm25"} >= {
        "top-20 query, 1,000 texts",
        "index 6,000 texts",
    }


def test_systems_are_timed_each_in_its_own_processes_with_the_same_outputs_as_the_reference(tmp_path: Path) -> None:
    out = tmp_path / "run_all.json"
    argv = ["--quick", "--only", "systems", "--repeat", "1", "--reference", str(ROOT), "--out", str(out)]
    report = load_run_all().main(argv)
    rows = [r for r in report["rows"] if r["benchmark"] == "systems"]
    assert [r["case"].split(",")[0] for r in rows] == ["mem-alpha", "mem1", "memory-r1"]
    for r in rows:
        assert r["note"].endswith("same output on 4/4 episodes")  # the reference is this checkout
        assert r["memenv_s"] > 0 and r["ratio"] == r["peer_s"] / r["memenv_s"]
    details = report["details"]["systems"]
    for name in ("mem-alpha", "mem1", "memory-r1"):
        # every child run timed this one system only: no other system warmed its caches first
        assert [list(run) for run in details[name]["ours"] + details[name]["reference"]] == [[name], [name]]


def test_clear_memenv_caches_empties_every_text_keyed_cache_and_keeps_loaded_resources() -> None:
    import functools
    import inspect
    import sys

    import memenv.metrics
    import memenv.readers.evidence
    import memenv.reward
    import memenv.tokenizer

    run_all = load_run_all()
    memenv.tokenizer.count_tokens_cached("Alice met Bob.\nThey talked.")
    memenv.tokenizer.encoding()
    memenv.reward._word_set("Alice met Bob.\nThey talked.")
    memenv.reward._chunk_words("Alice met Bob.")
    memenv.metrics.porter_stem("talked")
    memenv.metrics._content_words("Alice met Bob.")
    memenv.readers.evidence._stemmed("Alice talked")
    # Every lru_cache'd function of the memenv modules, found independently of the helper.
    caches = {
        f"{name}.{attr}": value
        for name, module in list(sys.modules.items())
        if module is not None and (name == "memenv" or name.startswith("memenv."))
        for attr, value in vars(module).items()
        if isinstance(value, functools._lru_cache_wrapper) and value.__module__ == name
    }
    warm = {name for name, cache in caches.items() if cache.cache_info().currsize}
    assert {
        "memenv.tokenizer._segment_tokens",
        "memenv.reward._word_set",
        "memenv.reward._line_words",
        "memenv.reward._chunk_words",
        "memenv.metrics.porter_stem",
        "memenv.metrics._content_words",
        "memenv.readers.evidence._stemmed",
    } <= warm
    # Caches of functions without arguments hold loaded resources (the tokenizer, NLTK's tools): kept.
    loaders = {name for name, cache in caches.items() if not inspect.signature(cache.__wrapped__).parameters}
    assert {"memenv.tokenizer.encoding", "memenv.metrics._stemmer"} <= loaders
    sizes = {name: caches[name].cache_info().currsize for name in loaders}
    cleared = run_all.clear_memenv_caches()
    assert set(cleared) == set(caches) - loaders
    assert all(caches[name].cache_info().currsize == 0 for name in cleared)
    assert {name: caches[name].cache_info().currsize for name in loaders} == sizes
    assert memenv.tokenizer.encoding.cache_info().currsize == 1
