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
