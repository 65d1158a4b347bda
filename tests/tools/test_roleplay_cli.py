"""`retention train roleplay` / `train sessions` on a test `train` group (the lead attaches the real one)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import typer
import yaml

from assistant.cli_roleplay import register_train

TRANSCRIPTS = Path(__file__).resolve().parents[1] / "data" / "transcripts"


@pytest.fixture()
def train(monkeypatch, tmp_path, kb_settings):
    """A `train` group with the role-play commands; sessions in a temp database."""
    from assistant.config import get_settings

    monkeypatch.setenv("RETENTION_DATABASE_URL", f"sqlite:///{tmp_path / 'records.sqlite'}")
    get_settings.cache_clear()
    group = typer.Typer()
    register_train(group)
    return group


def _script(tmp_path: Path, name: str) -> Path:
    doc = yaml.safe_load((TRANSCRIPTS / f"{name}.yaml").read_text(encoding="utf-8"))
    lines = ["# trainee lines"] + [t["text"] for t in doc["turns"] if t["speaker"] == "trainee"]
    path = tmp_path / f"{name}.txt"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def test_script_run_prints_the_transcript_and_the_graded_rubric(runner, train, tmp_path):
    result = runner.invoke(train, ["roleplay", "--scenario", "renewal", "--seed", "1", "--lang", "zh",
                                   "--script", str(_script(tmp_path, "renewal-zh-1-flawed"))])
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert "客户: 喂，你好，哪位？" in out and "你: 您好，我是您的专属服务经理小李" in out
    assert "总分: 85/100" in out and "over_cap" in out and "改进建议：" in out
    assert "13-call-structure.zh.md" in out  # criteria cite the playbooks


def test_json_prints_one_document_with_grade_and_transcript(runner, train, tmp_path):
    result = runner.invoke(train, ["roleplay", "--scenario", "renewal", "--seed", "2", "--lang", "en", "--json",
                                   "--script", str(_script(tmp_path, "renewal-en-2-good"))])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["grade"]["total"] == 100.0 and doc["outcome"] == "accepted" and doc["status"] == "finished"
    assert doc["transcript"][0]["speaker"] == "customer" and doc["persona"]["scenario"] == "renewal"

    listed = runner.invoke(train, ["sessions", "--json"])
    rows = json.loads(listed.stdout)
    assert [r["id"] for r in rows] == [doc["id"]] and rows[0]["total"] == 100.0
    assert json.loads(runner.invoke(train, ["sessions", "--trainee", "nobody", "--json"]).stdout) == []
    assert doc["id"][:12] in runner.invoke(train, ["sessions"]).stdout


def test_interactive_session_ends_on_an_empty_line(runner, train):
    result = runner.invoke(train, ["roleplay", "--scenario", "silent", "--seed", "4", "--lang", "en"],
                           input="Hello, this is Sam, your service manager, work number A7.\n\n")
    assert result.exit_code == 0, result.output
    assert "Customer:" in result.stdout and "Total:" in result.stdout


@pytest.mark.parametrize("args,message", [
    (["--scenario", "karaoke"], "unknown scenario"),
    (["--lang", "fr"], "unknown language"),
    (["--script", "/no/such/file.txt"], "cannot read --script"),
])
def test_bad_input_is_one_error_line_and_exit_1(runner, train, args, message):
    result = runner.invoke(train, ["roleplay", *args])
    assert result.exit_code == 1
    assert result.stderr.strip().startswith("error: ") and message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
