"""qwen3-tts for real, in its own environment (qwen-tts 0.1.1, transformers 4.57.3, torch pinned to this
environment's release), beside the quickstart's LLM workload in one suite, on the CPU, with the `tiny`
random configuration built through qwen-tts's own classes.

The environment is built on first use (about 4 minutes on 2 cores; docs/envs.md) into
$BENCHBENCH_TEST_ENV_DIR, default ~/.cache/benchbench/test-envs, and reused by later runs.
"""

from __future__ import annotations

import os
import wave
from importlib.metadata import version
from pathlib import Path

import pytest

from benchbench.record import load_records
from benchbench.yamlio import load_yaml

ROOT = Path(__file__).resolve().parent.parent
FRAMES = 5                       # max_new_tokens 6: each run emits 5 codec frames of 1,920 samples
TEXT = "Every generation of chips does more arithmetic per watt."

# building the environment takes 3.5-4 minutes on 2 cores: more than the suite's 300 s per test
pytestmark = [pytest.mark.slow, pytest.mark.timeout(1800)]


@pytest.fixture
def test_envs(monkeypatch):
    root = os.environ.get("BENCHBENCH_TEST_ENV_DIR") or os.path.expanduser("~/.cache/benchbench/test-envs")
    monkeypatch.setenv("BENCHBENCH_ENV_DIR", root)
    return Path(root)


def _suite(write) -> Path:
    quickstart = load_yaml(ROOT / "suites" / "quickstart.yaml")
    (llm,) = [w for w in quickstart["workloads"] if w["kind"] == "llm"]
    llm = {**llm, "prompt_tokens": 16, "max_tokens": 4}   # the quickstart's workload, shorter
    lines = ["name: llm-and-tts", "warmups: 1", "repetitions: 2", "power: {samplers: [auto]}", "workloads:",
             "  - " + "\n    ".join(f"{k}: {v}" for k, v in llm.items()),
             "  - name: qwen3-tts-tiny", "    kind: tts", "    backend: qwen3-tts", "    weights: dummy",
             "    architecture: tiny", "    speaker: Eric", "    language: English", f'    text: "{TEXT}"',
             f"    max_new_tokens: {FRAMES + 1}", "    device: cpu"]
    return write("suite.yaml", "\n".join(lines) + "\n")


def test_qwen3_tts_in_its_environment_beside_the_quickstart_llm(test_envs, write, cli, tmp_path):
    code, out, err = cli("run", _suite(write), "--results", tmp_path / "r")
    assert code == 0, err[-3000:]
    recs = {r["workload"]["name"]: r for r in load_records([tmp_path / "r"])}
    llm, tts = recs["smollm2-135m-dummy"], recs["qwen3-tts-tiny"]
    assert llm["status"] == tts["status"] == "complete"
    assert "env" not in llm["workload"]["facts"]                  # in this process, transformers 5
    assert version("transformers").split(".")[0] != "4"
    facts = tts["workload"]["facts"]
    assert (facts["qwen_tts"], facts["transformers"]) == ("0.1.1", "4.57.3")
    env = facts["env"]
    assert env["name"] == "qwen3-tts" and env["path"].startswith(str(test_envs))
    assert env["holds"]["torch"].split("+")[0] == version("torch").split("+")[0]    # pinned to ours
    assert facts["weights_source"].startswith("random initialization (tiny shape")
    assert facts["parameters"] < 20_000_000 and facts["device"] == "cpu"
    folder = next((tmp_path / "r").rglob(tts["run_id"] + ".json")).parent
    for it in tts["iterations"]:
        m = it["metrics"]
        assert m["sample_rate"] == 24000 and m["audio_s"] == pytest.approx(FRAMES * 1920 / 24000)
        assert m["rtf"] == pytest.approx(m["gen_s"] / m["audio_s"])
        assert it["wall_s"] >= it["duration_s"] >= m["gen_s"] > 0
        with wave.open(str(folder / it["artifacts"][0])) as wav:
            assert wav.getnframes() == FRAMES * 1920
    code, out, _ = cli("doctor")
    assert f"backend: qwen3-tts; runs: in its own environment {Path(env['path']).name} (ready)" in out
