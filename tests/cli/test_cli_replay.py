"""`tactful replay`: JSONL in, one JSONL decision per matched trigger out, bad lines reported."""

from __future__ import annotations

import json
import subprocess
import sys

from tactful.cli import REPLAY_FIELDS

UA = "Mozilla/5.0 (X11; Linux x86_64) Chrome/130.0 Safari/537.36"


def lines_for(visitor, offset=0.0):
    t = offset
    return [
        {"visitor": visitor, "t": t, "type": "client", "user_agent": UA, "webdriver": False, "languages": ["en"]},
        {"visitor": visitor, "t": t, "type": "page_view", "url": "/p/mug"},
        {"visitor": visitor, "t": t + 1, "type": "activity"},
        {"visitor": visitor, "t": t + 2, "type": "cart", "items": 1, "value": 24},
        {"visitor": visitor, "t": t + 3, "type": "page_view", "url": "/cart"},
        {"visitor": visitor, "t": t + 4, "type": "activity"},
        {"visitor": visitor, "t": t + 12, "type": "exit_intent"},
    ]


def run_replay(root, text, *extra):
    return subprocess.run(
        [sys.executable, "-m", "tactful.cli", "replay", "--playbook", str(root / "demo" / "playbook.toml"), *extra],
        input=text, capture_output=True, text=True, check=False,
    )  # fmt: skip


def test_replay_interleaved_visitors_with_bad_lines(root):
    a, b = lines_for("alice"), lines_for("v17", 0.5)  # v17 is in the demo holdout
    mixed = [json.dumps(x) for pair in zip(a, b, strict=True) for x in pair]
    mixed.insert(3, "{not json")
    mixed.insert(6, json.dumps({"t": 1, "type": "activity"}))  # no visitor
    mixed.append(json.dumps({"visitor": "alice", "t": 13, "type": "scroll", "depth": 2}))  # a depth past 1
    mixed.append(json.dumps({"visitor": "alice", "t": 1, "type": "activity"}))  # late: applied, not dropped
    result = run_replay(root, "\n".join(mixed) + "\n")
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(r["visitor"], r["action"], r["reasons"]) for r in rows] == [
        ("alice", "intervene", ["signal:cart_items", "signal:exit_intent_dwell"]),
        ("v17", "suppress", ["holdout"]),
    ]
    assert all(set(r) <= set(REPLAY_FIELDS) for r in rows)
    assert rows[0]["offer"] == "cart10" and rows[0]["t"] == 12 and rows[1]["arm"] == "holdout"
    assert "line 4: not JSON" in result.stderr
    assert "line 7: needs a `visitor`" in result.stderr
    assert "line 17: event skipped (bad_field)" in result.stderr
    assert "replayed 15 events" in result.stderr  # 18 lines: 2 bad, 1 skipped
    assert "bad lines 2" in result.stderr and "bad_field=1" in result.stderr


def test_replay_from_a_file_and_a_bad_playbook(root, tmp_path):
    events = tmp_path / "events.jsonl"
    events.write_text("\n".join(json.dumps(x) for x in lines_for("bob")))
    result = run_replay(root, "", "--events", str(events))
    assert result.returncode == 0 and '"trigger": "cart_exit"' in result.stdout
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"site": "x"}))
    result = subprocess.run(
        [sys.executable, "-m", "tactful.cli", "replay", "--playbook", str(bad), "--events", str(events)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 2 and "triggers:" in result.stderr


def test_demo_events_replay(root):
    text = (root / "demo" / "events.jsonl").read_text()
    result = run_replay(root, text)
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    fired = {r["trigger"] for r in rows if r["action"] == "intervene"}
    assert fired == {"cart_exit", "pricing_compare", "product_questions", "welcome_back_cart", "longform_lead"}
    assert any(r["reasons"] == ["bot"] for r in rows)
    assert any(r["reasons"] == ["holdout"] for r in rows)


def test_privacy_prints_the_inventory(capsys, root):
    from tactful.cli import main

    assert main(["privacy", "--playbook", str(root / "demo" / "playbook.toml")]) == 0
    text = capsys.readouterr().out
    assert "tactful:v1:state" in text and "POST /v1/lead" in text and "90 days (lead_retention_days)" in text
    assert main(["privacy", "--json", "--playbook", str(root / "demo" / "playbook.toml")]) == 0
    import json

    assert json.loads(capsys.readouterr().out)["privacy_level"] == "minimal"
