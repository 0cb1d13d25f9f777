"""`kind: video, backend: ltx2` through the suite and the runner, on CPU with the tiny random pipeline."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("diffusers")
pytest.importorskip("imageio_ffmpeg")

from benchbench.record import load_records  # noqa: E402
from benchbench.workloads.ltx2_video import device_list, frames_for  # noqa: E402

ENTRY = """
name: video
warmups: 0
repetitions: 1
power: {{samplers: [none]}}
workloads:
  - name: tiny
    kind: video
    backend: ltx2
    weights: dummy
    architecture: tiny
{extra}"""


def suite(write, extra: str = "    devices: [cpu, cpu]\n", name: str = "video.yaml"):
    return write(name, ENTRY.format(extra=extra))


def test_frames_from_seconds_and_devices():
    assert [frames_for({"seconds": s, "fps": 24}) for s in (1, 4, 10)] == [25, 97, 241]   # the published clips
    assert frames_for({"frames": 17, "fps": 24}) == 17
    assert frames_for({"fps": 24, "weights": "dummy"}) == 9 and frames_for({"fps": 24}) == 25
    assert device_list([0, 1]) == ["cuda:0", "cuda:1"]
    assert device_list(["cpu", "cpu"]) == ["cpu:0", "cpu:1"] and device_list("cpu") == ["cpu"]


def test_run_records_stages_memory_and_mp4(write, cli, tmp_path):
    code, out, err = cli("run", suite(write), "--results", tmp_path / "r")
    assert code == 0, err
    (rec,) = [r for r in load_records([tmp_path / "r"]) if r.get("type", "run") == "run"]
    assert rec["status"] == "complete"
    facts = rec["workload"]["facts"]
    assert facts["devices"] == ["cpu:0", "cpu:1"] and facts["precision"]["name"] == "fp32"
    assert facts["placement"][0].startswith("cpu:0: blocks 0-1 (2), transformer_shared")
    assert facts["planned_weights_bytes"]["cpu:1"] > 0
    assert sum(facts["planned_weights_bytes"].values()) == pytest.approx(facts["resident_weights_gb"]["cpu"] * 1e9)
    (it,) = rec["iterations"]
    m = it["metrics"]
    assert set(m["stages_s"]) == {"text_encode", "stage1", "upsample", "stage2", "decode"}
    assert all(v > 0 for v in m["stages_s"].values())
    assert sum(m["stages_s"].values()) <= m["gen_s"] <= it["duration_s"]
    assert [len(m["step_s"]["stage1"]), len(m["step_s"]["stage2"])] == [8, 3]
    assert (m["frames"], m["fps"], m["width"], m["height"]) == (9, 24.0, 64, 64)
    assert m["video_s"] == pytest.approx(9 / 24) and m["audio"] is True
    assert m["peak_mem_gb"] == {} and "CUDA devices only" in it["raw"]["peak_mem"]
    mp4 = Path(rec["_path"]).parent / it["artifacts"][0]
    assert mp4.read_bytes()[4:8] == b"ftyp"


def test_dry_run_prints_the_plan_from_the_config(write, cli):
    code, out, err = cli("run", suite(write, "    devices: [cpu, cpu]\n    steps: [2, 1]\n"), "--dry-run")
    assert code == 0, err
    assert "plan.placement[cpu:0]: blocks 0-1 (2), transformer_shared, connectors, vae" in out
    assert "plan.placement[cpu:1]: blocks 2-3 (2); ~53.3 kB of weights" in out
    assert "plan.precision: fp32 (CPU: fp32)" in out
    assert "stage1 2 steps at 32x32, 2x upsample, stage2 1 steps at 64x64" in out


@pytest.mark.parametrize("extra, message", [
    ("    frames: 10\n", "frames: must be 8k+1 (9, 17, 25, ...), found 10"),
    ("    width: 100\n", "width: must be a multiple of 64, found 100"),
    ("    steps: [9, 3]\n", "stage1 1..8, stage2 1..3"),
    ("    frames: 9\n    seconds: 1\n", "`frames` and `seconds` both given"),
    ("    precision: fp8\n", "unknown value 'fp8'"),
    ("    devices: [true]\n", "devices are GPU indices"),
])
def test_bad_parameters_are_one_line_errors(write, cli, extra, message):
    code, out, err = cli("run", suite(write, extra), "--dry-run")
    assert code == 2 and message in err and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1


def test_missing_model_is_a_clear_error_not_a_download(write, cli, tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    path = write("real.yaml", ENTRY.format(extra="").replace(
        "    weights: dummy\n    architecture: tiny\n", "    model: someone/not-downloaded-LTX-2\n    devices: cpu\n"))
    code, out, err = cli("run", path, "--dry-run")
    assert code == 0
    assert "plan.placement: unknown: model `someone/not-downloaded-LTX-2` is not a local folder nor in the " \
           "Hugging Face cache" in out
    code, out, err = cli("run", path, "--results", tmp_path / "r")
    assert code == 2                                  # bad input: the run stops at setup, nothing downloaded
    (rec,) = load_records([tmp_path / "r"])
    assert rec["status"] == "failed"
    assert rec["errors"][0]["message"] == ("model: model `someone/not-downloaded-LTX-2` is not a local folder nor "
                                           "in the Hugging Face cache (download it first: huggingface-cli download "
                                           "someone/not-downloaded-LTX-2)")


def test_dummy_needs_an_architecture(write, cli):
    path = write("x.yaml", ENTRY.format(extra="").replace("    architecture: tiny\n", ""))
    code, _, err = cli("run", path, "--dry-run")
    assert code == 2 and "`weights: dummy` needs `architecture`" in err


def test_image_to_video(write, cli, tmp_path):
    import numpy as np
    from PIL import Image

    Image.fromarray(np.full((64, 64, 3), 200, dtype=np.uint8)).save(tmp_path / "first.png")
    code, _, err = cli("run", suite(write, "    image: first.png\n    steps: [1, 1]\n    audio: false\n"),
                       "--results", tmp_path / "r")
    assert code == 0, err
    (rec,) = [r for r in load_records([tmp_path / "r"]) if r.get("type", "run") == "run"]
    (it,) = rec["iterations"]
    assert rec["workload"]["params"]["image"] == str(tmp_path / "first.png")
    assert it["metrics"]["frames"] == 9 and "image_crf" in it["raw"]
