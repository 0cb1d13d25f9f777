"""The real-weight path offline: a diffusers-format LTX-2 folder (tiny components, tiny Gemma 3 text encoder,
word-level tokenizer) loaded from disk or from the Hugging Face cache layout, never downloaded."""

from __future__ import annotations

import shutil

import pytest

pytest.importorskip("diffusers")
pytest.importorskip("imageio_ffmpeg")

from video_helpers import save_tiny_checkpoint  # noqa: E402

from benchbench.record import load_records  # noqa: E402


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    return save_tiny_checkpoint(tmp_path_factory.mktemp("ckpt") / "ltx2-tiny")


def test_local_folder_runs_with_its_text_encoder(checkpoint, write, cli, tmp_path):
    suite = write("real.yaml", f"""
        name: real
        warmups: 0
        repetitions: 1
        power: {{samplers: [none]}}
        workloads:
          - {{name: local, kind: video, backend: ltx2, model: {checkpoint}, width: 64, height: 64, frames: 9,
              devices: [cpu, cpu], steps: [2, 1], audio: false}}
        """)
    code, out, err = cli("run", suite, "--dry-run")
    assert code == 0, err
    assert "plan.placement[cpu:1]: blocks 2-3 (2); ~53.3 kB of weights" in out
    assert "plan.text_encoder: fp32, loaded per clip" in out
    code, out, err = cli("run", suite, "--results", tmp_path / "r")
    assert code == 0, err
    (rec,) = load_records([tmp_path / "r"])
    assert rec["status"] == "complete" and rec["workload"]["facts"]["weights_source"] == str(checkpoint)
    (it,) = rec["iterations"]
    m = it["metrics"]
    assert 0 < m["text_encoder_load_s"] < m["stages_s"]["text_encode"]   # load, encode, free: all in the stage
    assert it["raw"]["text_encoder_dtype"] == "fp32" and it["raw"]["text_encoder_devices"] == ["cpu:0"]
    assert m["audio"] is False and [len(m["step_s"]["stage1"]), len(m["step_s"]["stage2"])] == [2, 1]


def test_cached_hub_id_resolves_without_network(checkpoint, tmp_path, monkeypatch):
    """An id already in the Hugging Face cache resolves to its snapshot folder (HF_HUB_OFFLINE set: no network)."""
    from benchbench.errors import UserError
    from benchbench.video.loading import read_configs, resolve_model, upsampler_folder

    cache = tmp_path / "hub"
    repo = cache / "models--someone--LTX-2-tiny"
    shutil.copytree(checkpoint, repo / "snapshots" / ("0" * 40))
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text("0" * 40)
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    import huggingface_hub.constants as hc

    monkeypatch.setattr(hc, "HF_HUB_CACHE", str(cache))
    path = resolve_model("someone/LTX-2-tiny")
    assert path == repo / "snapshots" / ("0" * 40)
    configs = read_configs(path, upsampler_folder(path, None))
    assert configs["transformer"]["num_layers"] == 4 and configs["latent_upsampler"]["mid_channels"] == 32
    with pytest.raises(UserError, match="not a local folder nor in the Hugging Face cache"):
        resolve_model("someone/missing")
    with pytest.raises(UserError, match="no latent upsampler"):
        upsampler_folder(path, str(tmp_path))
