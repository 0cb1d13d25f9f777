"""The real two-stage LTX-2 pipeline code on CPU with tiny random components, split and unsplit."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("diffusers")

from video_helpers import tiny_runner  # noqa: E402

from benchbench.video.pipeline import STAGES, Request, stage_sigmas  # noqa: E402


@pytest.fixture(scope="module")
def outputs():
    req = Request("a cat on a windowsill", frames=9, fps=24, width=64, height=64, seed=7)
    single = tiny_runner(["cpu"])
    split = tiny_runner(["cpu:0", "cpu:1"])
    try:
        return single.generate(req), split.generate(req), split.split.calls
    finally:
        single.close()
        split.close()


def test_split_output_equals_unsplit(outputs):
    single, split, calls = outputs
    assert calls == 2 * (8 + 3)                     # blocks 2-3 ran through the hooks at every step
    assert torch.equal(single.latents, split.latents)
    assert np.array_equal(single.video, split.video)
    assert torch.equal(single.audio, split.audio)


def test_every_stage_and_step_is_timed(outputs):
    single, _, _ = outputs
    assert list(single.stages_s) == list(STAGES)
    assert all(v > 0 for v in single.stages_s.values())
    assert [len(single.step_s["stage1"]), len(single.step_s["stage2"])] == [8, 3]
    assert sum(single.step_s["stage1"]) <= single.stages_s["stage1"]
    assert single.peak_mem_gb == {}                  # CPU: no CUDA peak memory to read


def test_output_shapes(outputs):
    single, _, _ = outputs
    assert single.video.shape == (9, 64, 64, 3)
    assert 0 <= single.video.min() and single.video.max() <= 1
    assert single.audio.shape[0] == 2 and single.sample_rate == 16000
    assert single.latents.shape == (1, 4, 3, 16, 16)  # 9 frames, 4x VAE: 3 latent frames of 16x16


def test_stage_sigmas_subsets_of_the_distilled_schedule():
    from diffusers.pipelines.ltx2.utils import DISTILLED_SIGMA_VALUES as S1
    from diffusers.pipelines.ltx2.utils import STAGE_2_DISTILLED_SIGMA_VALUES as S2

    assert stage_sigmas(S1, 8) == S1 and stage_sigmas(S2, 3) == S2
    assert stage_sigmas(S1, 1) == [1.0]
    assert stage_sigmas(S1, 3) == [S1[0], S1[4], S1[7]]
    with pytest.raises(ValueError):
        stage_sigmas(S2, 4)


def test_audio_off_skips_the_audio_decode():
    runner = tiny_runner(["cpu"])
    try:
        out = runner.generate(Request("x", frames=9, fps=24, width=64, height=64, steps=(1, 1), audio=False))
    finally:
        runner.close()
    assert out.audio is None and out.sample_rate is None and out.video.shape[0] == 9
    assert [len(out.step_s["stage1"]), len(out.step_s["stage2"])] == [1, 1]
