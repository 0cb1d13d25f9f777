"""Part 15 on the CPU: model_on_cpu and the CPU-build check (this machine's PyTorch is a CPU build),
warning levels, fixed-length generation, library warnings kept off the terminal, and dummy weights
built on the target device without the model's initialization."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import pytest
import torch
from power_helpers import FakeAmdSmi, FakeAmdsmiLib, FakeGpu

from benchbench import torch_util, warnings_
from benchbench.commands import doctor
from benchbench.power.checks import throttle_labels
from benchbench.power.rocm_smi import parse_json as rocm_parse
from benchbench.record import load_typed_records
from benchbench.record_model import RunRecord, RunWarningEntry, from_json
from benchbench.warning_levels import NOTE, WARNING, level
from benchbench.workloads import placement_check
from benchbench.workloads.base import RunWarning
from benchbench.workloads.servers import fixed_length, output_warnings

GPU_TRUST = Path(__file__).resolve().parent / "fixtures" / "gpu-trust"
H100 = [{"index": 0, "vendor": "nvidia", "name": "NVIDIA H100 80GB HBM3"}]


def test_cpu_build_with_a_gpu_present_is_said_plainly(monkeypatch):
    assert torch_util.torch_build() == "cpu"            # this test machine's PyTorch (2.x+cpu)
    problem = torch_util.gpu_access_problem(H100)
    assert problem.startswith(f"this PyTorch ({torch.__version__}) is a CPU build, but NVIDIA H100")
    assert "install a CUDA build" in problem
    assert torch_util.gpu_access_problem([]) is None    # no GPU: nothing to say
    found = placement_check.model_on_cpu("cpu", H100)
    assert found.code == "model_on_cpu" and "CPU build" in found.message and found.level == WARNING
    monkeypatch.setattr(doctor, "_torch_problem", doctor._torch_problem)   # the real one, below
    assert any("CPU build" in p for p in doctor._problems({"gpus": H100, "env": {}}))


def test_model_on_cpu_when_a_usable_gpu_sits_there(monkeypatch):
    monkeypatch.setattr(placement_check, "usable_accelerator", lambda: "cuda")
    monkeypatch.setattr(placement_check, "gpu_access_problem", lambda gpus: None)
    found = placement_check.model_on_cpu("cpu", H100)
    assert "device: cpu" in found.message and "NVIDIA H100 80GB HBM3 is usable" in found.message
    assert placement_check.model_on_cpu("cuda:0", H100) is None
    monkeypatch.setattr(placement_check, "usable_accelerator", lambda: None)
    assert placement_check.model_on_cpu("cpu", []) is None   # a CPU-only machine: CPU figures are all there is


def test_levels_and_records():
    assert level("power_estimated") == NOTE and level("hit_token_limit") == NOTE
    assert level("gpu_idle_during_run") == WARNING and level("some_new_code") == WARNING
    assert RunWarning("power_estimated", "m").to_dict() == {"code": "power_estimated", "level": "note", "message": "m"}


def test_hit_token_limit_not_raised_for_a_fixed_length():
    assert fixed_length({"ignore_eos": True}, 256) and fixed_length({"min_tokens": 256}, 256)
    assert not fixed_length({"min_tokens": 16}, 256) and not fixed_length(None, 256)
    assert [w.code for w in output_warnings("text", "length", 256)] == ["hit_token_limit"]
    assert output_warnings("text", "length", 256, fixed=True) == []


def test_library_warnings_go_to_the_record_not_the_terminal(tmp_path, capsys):
    from benchbench.runner import library_warnings

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for _ in range(3):
            warnings.warn("`past_key_values` is deprecated", FutureWarning, stacklevel=1)
    kept = library_warnings(caught)
    assert kept == [{"category": "FutureWarning", "message": "`past_key_values` is deprecated",
                     "where": kept[0]["where"], "count": 3}]
    assert capsys.readouterr().err == ""


def test_dummy_weights_built_on_the_device_without_initialization(monkeypatch):
    from transformers import AutoConfig

    from benchbench.workloads.architectures import resolve
    from benchbench.workloads.dummy_weights import build_on_device

    def no_init(*args, **kwargs):
        raise AssertionError("an initializer ran")

    cfg = resolve("tiny-llama")
    config = AutoConfig.for_model(cfg.pop("model_type"), **cfg)
    for name in ("kaiming_uniform_", "normal_", "uniform_"):
        monkeypatch.setattr(torch.nn.init, name, no_init)
    model = build_on_device(config, torch.bfloat16, "cpu", seed=1)
    monkeypatch.undo()
    params = dict(model.named_parameters())
    assert {p.device.type for p in params.values()} == {"cpu"}
    assert {p.dtype for p in params.values()} == {torch.bfloat16}
    assert model.lm_head.weight.data_ptr() == model.model.embed_tokens.weight.data_ptr()   # tied again
    assert torch.all(model.model.norm.weight == 1)
    assert model.model.layers[0].mlp.up_proj.weight.float().std().item() == pytest.approx(0.02, rel=0.1)
    logits = model(input_ids=torch.tensor([[1, 2, 3]])).logits
    assert torch.isfinite(logits).all()


def test_dtype_keyword_follows_the_transformers_version(monkeypatch):
    import transformers

    from benchbench.workloads.dummy_weights import dtype_kwargs

    monkeypatch.setattr(transformers, "__version__", "4.48.0")
    assert dtype_kwargs(torch.float16) == {"torch_dtype": torch.float16}
    monkeypatch.setattr(transformers, "__version__", "5.17.0")
    assert dtype_kwargs(torch.float16) == {"dtype": torch.float16}


@pytest.mark.parametrize("old_keys", [False, True])
def test_amdsmi_samples_utilization_clocks_temperature_memory_and_throttle(monkeypatch, old_keys):
    monkeypatch.setattr(FakeAmdSmi, "library", FakeAmdsmiLib([FakeGpu(90.0, util=0.0, throttle=0x4)],
                                                            old_keys=old_keys))
    sampler = FakeAmdSmi(0.5, {"apu": False})
    sampler.start()
    try:
        sampler.sample_now()
    finally:
        sampler.stop()
    extra = sampler.series["gpu0"].extra[-1]
    assert extra == {"util_pct": 0.0, "mem_used_gb": pytest.approx(4.295, abs=0.001), "sm_clock_mhz": 2900.0,
                     "mem_clock_mhz": 1000.0, "temp_c": 48.0, "throttle": 0x4}
    assert throttle_labels(0x4, "amdsmi") == ["throttle status 0x4"] and throttle_labels(0, "amdsmi") == []
    assert throttle_labels(0x4, "nvml") == ["sw_power_cap (power limit)"]


def test_rocm_smi_extra_columns():
    text = json.dumps({"card0": {"Current Socket Graphics Package Power (W)": "61.0", "GPU use (%)": "12",
                                 "Temperature (Sensor edge) (C)": "44.0", "sclk clock speed:": "(2100Mhz)",
                                 "mclk clock speed:": "(1000Mhz)", "VRAM Total Used Memory (B)": "4294967296"}})
    assert rocm_parse(text)[0]["extra"] == {"util_pct": 12.0, "temp_c": 44.0, "sm_clock_mhz": 2100.0,
                                            "mem_clock_mhz": 1000.0, "mem_used_gb": 4.295}


def test_a_runs_library_warnings_stay_off_the_terminal(write, cli, tmp_path, monkeypatch):
    from conftest import tiny_suite

    from benchbench.record import load_records
    from benchbench.workloads.hf_transformers import TransformersLLM

    original = TransformersLLM.run_once

    def noisy(self, ctx):
        warnings.warn("`past_key_values` is deprecated and will be removed", FutureWarning, stacklevel=1)
        return original(self, ctx)

    monkeypatch.setattr(TransformersLLM, "run_once", noisy)
    code, out, err = cli("run", tiny_suite(write, warmups=1, repetitions=2, max_tokens=4),
                         "--results", tmp_path / "r")
    assert code == 0, err
    assert "past_key_values" not in out + err
    (rec,) = [r for r in load_records([tmp_path / "r"]) if r.get("type", "run") == "run"]
    assert rec["library_warnings"][0]["category"] == "FutureWarning"
    assert rec["library_warnings"][0]["message"].startswith("`past_key_values` is deprecated")
    assert {w.get("level") for w in rec["warnings"]} <= {"warning", "note"}
    (typed,) = [r for r in load_typed_records([tmp_path / "r"]) if isinstance(r, RunRecord)]
    assert typed.library_warnings[0].category == "FutureWarning" and typed.library_warnings[0].count >= 1
    assert typed.to_json()["library_warnings"] == rec["library_warnings"]


def test_the_typed_record_carries_levels_and_counter_steps():
    """The recorded H100 records (schema 1, written by Part 15) through the typed record: each warning's
    level, the counter steps of the nvml sampler, the same dict back."""
    rec = from_json(json.loads((GPU_TRUST / "smollm2-135m-cpu.json").read_text()))
    assert isinstance(rec, RunRecord) and rec.schema_version == 2
    levels = {w.code: (w.level, w.is_note) for w in rec.warnings}
    assert levels["power_estimated"] == (NOTE, True) and levels["model_on_cpu"] == (WARNING, False)
    assert levels["gpu_idle_during_run"] == (WARNING, False)
    (stats,) = rec.power["sampler_stats"]
    assert stats["counter_steps"]["gpu0"]["period_s"] == pytest.approx(0.1, abs=0.001)
    assert rec.to_json()["warnings"] == [{**w.to_json()} for w in rec.warnings]
    # a record from before Part 15 carries no level: its code's applies
    old = RunWarningEntry(code="power_estimated", message="x")
    assert old.level is None and old.is_note and not RunWarningEntry(code="throttled").is_note
    # the one RunWarning class (benchbench.warnings_), its level from its code
    assert RunWarning is warnings_.RunWarning
    assert RunWarning("hit_token_limit", "m").to_dict()["level"] == NOTE
