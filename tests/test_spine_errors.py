"""Malformed suites and profiles: one line naming file, line and field, exit code 2, no traceback."""

from __future__ import annotations

import re

import pytest

GOOD_WORKLOAD = """
  - name: a
    kind: llm
    backend: transformers
    architecture: tiny-llama
    weights: dummy
"""

CASES = {
    "unknown_top_key": ("name: s\nrepetition: 3\nworkloads:" + GOOD_WORKLOAD,
                        2, "repetition", "did you mean `repetitions`?"),
    "wrong_type": ("name: s\nrepetitions: three\nworkloads:" + GOOD_WORKLOAD,
                   2, "repetitions", "must be an integer"),
    "negative_repetitions": ("name: s\nrepetitions: -1\nworkloads:" + GOOD_WORKLOAD,
                             2, "repetitions", "greater than 0"),
    "negative_warmups": ("name: s\nwarmups: -2\nworkloads:" + GOOD_WORKLOAD,
                         2, "warmups", "0 or more"),
    "bool_is_not_int": ("name: s\nrepetitions: true\nworkloads:" + GOOD_WORKLOAD,
                        2, "repetitions", "must be an integer"),
    "missing_name": ("workloads:" + GOOD_WORKLOAD, 1, "name", "missing required key"),
    "no_workloads": ("name: s\nworkloads: []\n", 2, "workloads", "at least one workload"),
    "bad_yaml": ("name: s\nworkloads:\n  - name: [unclosed\n", 4, None, "invalid YAML"),
    "not_a_mapping": ("- just\n- a list\n", 1, None, "must be a mapping"),
    "unknown_kind": ("name: s\nworkloads:\n  - name: a\n    kind: lmm\n    backend: x\n",
                     4, "workloads[0].kind", "did you mean `llm`?"),
    "unknown_backend": ("name: s\nworkloads:\n  - name: a\n    kind: llm\n    backend: olama\n",
                        5, "workloads[0].backend", "did you mean `ollama`?"),
    "unknown_workload_key": ("name: s\nworkloads:" + GOOD_WORKLOAD + "    max_token: 5\n",
                             8, "workloads[0].max_token", "did you mean `max_tokens`?"),
    "duplicate_names": ("name: s\nworkloads:" + GOOD_WORKLOAD + GOOD_WORKLOAD,
                        9, "workloads[1].name", "duplicate workload name"),
    "duplicate_key": ("name: s\nname: t\nworkloads:" + GOOD_WORKLOAD, 2, None, "duplicate key"),
    "missing_prompt_file": ("name: s\nworkloads:" + GOOD_WORKLOAD + "    prompt_file: nope.txt\n",
                            8, "workloads[0].prompt_file", "file not found"),
    "matrix_not_list": ("name: s\nworkloads:" + GOOD_WORKLOAD + "    matrix:\n      max_tokens: 8\n",
                        9, "workloads[0].matrix.max_tokens", "non-empty list"),
    "matrix_unknown_key": ("name: s\nworkloads:" + GOOD_WORKLOAD + "    matrix:\n      max_tokns: [1, 2]\n",
                           9, "workloads[0].matrix.max_tokns", "did you mean `max_tokens`?"),
    "matrix_bad_value_type": ("name: s\nworkloads:" + GOOD_WORKLOAD
                              + "    matrix:\n      max_tokens: [8, lots]\n",
                              9, "workloads[0].matrix.max_tokens", "must be an integer"),
    "matrix_dotted_not_options": ("name: s\nworkloads:" + GOOD_WORKLOAD
                                  + "    matrix:\n      model.size: [1, 2]\n",
                                  9, "workloads[0].matrix.model.size", "unknown key"),
    "two_prompt_sources": ("name: s\nworkloads:" + GOOD_WORKLOAD + "    prompt: hi\n    prompt_tokens: 5\n",
                           9, "workloads[0].prompt_tokens", "both given"),
    "dummy_without_architecture": ("name: s\nworkloads:\n  - name: a\n    kind: llm\n"
                                   "    backend: transformers\n    weights: dummy\n",
                                   6, "workloads[0].weights", "needs `architecture`"),
    "unknown_architecture": ("name: s\nworkloads:" + GOOD_WORKLOAD.replace("tiny-llama", "tiny-lama"),
                             6, "workloads[0].architecture", "unknown architecture"),
    "bad_dtype": ("name: s\nworkloads:" + GOOD_WORKLOAD + "    dtype: fp17\n",
                  8, "workloads[0].dtype", "unknown value"),
    "unknown_sampler": ("name: s\npower:\n  samplers: [nvml, rapll]\nworkloads:" + GOOD_WORKLOAD,
                        3, "power.samplers[1]", "did you mean `rapl`?"),
    "bad_interval": ("name: s\npower:\n  interval_ms: 0\nworkloads:" + GOOD_WORKLOAD,
                     3, "power.interval_ms", "between 1 and 60000"),
}


def _assert_one_line(err: str, path, line, field, words) -> None:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    msg = lines[0]
    assert "Traceback" not in err
    assert msg.startswith(f"error: {path}:")
    if line is not None:
        assert msg.startswith(f"error: {path}:{line}: "), msg
    if field is not None:
        assert f" {field}: " in msg, msg
    assert words in msg, msg


@pytest.mark.parametrize("case", sorted(CASES))
def test_malformed_suite(case, write, cli):
    text, line, field, words = CASES[case]
    path = write(f"{case}.yaml", text)
    code, out, err = cli("run", path, "--dry-run")
    assert code == 2
    assert out == ""
    _assert_one_line(err, path, line, field, words)


PROFILE_CASES = {
    "profile_unknown_key": ("name: m\nidle_watts: 30\n", 2, "idle_watts", "did you mean `idle_w`?"),
    "profile_wrong_type": ("name: m\nhardware_cost: lots\n", 2, "hardware_cost", "must be a number"),
    "profile_negative": ("name: m\nelectricity_per_kwh: -0.1\n", 2, "electricity_per_kwh", "0 or more"),
    "profile_utilization": ("name: m\nutilization: 1.5\n", 2, "utilization", "(0, 1]"),
    "profile_missing_name": ("idle_w: 30\n", 1, "name", "missing required key"),
}


@pytest.mark.parametrize("case", sorted(PROFILE_CASES))
def test_malformed_profile(case, write, cli):
    text, line, field, words = PROFILE_CASES[case]
    suite = write("suite.yaml", "name: s\nworkloads:" + GOOD_WORKLOAD)
    profile = write(f"{case}.yaml", text)
    code, out, err = cli("run", suite, "--machine", profile, "--dry-run")
    assert code == 2
    _assert_one_line(err, profile, line, field, words)


def test_missing_suite_file(cli, tmp_path):
    code, _, err = cli("run", tmp_path / "nope.yaml")
    assert code == 2
    assert re.fullmatch(r"error: .*nope\.yaml: suite not found \(check the path\)\n", err)


def test_unknown_profile_name(cli, write):
    suite = write("suite.yaml", "name: s\nmachine: p40-servr\nworkloads:" + GOOD_WORKLOAD)
    code, _, err = cli("run", suite, "--dry-run")
    assert code == 2
    assert "no machine profile named `p40-servr`" in err and "did you mean `p40-server`?" in err


def test_unknown_flag_is_one_line(cli):
    code, _, err = cli("run", "--repetitions", "3")
    assert code == 2
    assert len(err.strip().splitlines()) == 1 and err.startswith("error: ")


def test_only_unknown_workload(cli, write):
    suite = write("suite.yaml", "name: s\nworkloads:" + GOOD_WORKLOAD)
    code, _, err = cli("run", suite, "--only", "b", "--dry-run")
    assert code == 2
    assert "no workload named `b`" in err


def test_cli_subprocess_has_no_traceback(write, tmp_path):
    from conftest import run_subprocess

    path = write("bad.yaml", "name: s\nrepetition: 3\nworkloads:" + GOOD_WORKLOAD)
    done = run_subprocess(["run", str(path)], cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr == f"error: {path}:2: repetition: unknown key `repetition` (did you mean `repetitions`?)\n"


def test_matrix_path_values_resolve_against_the_suite(write, tmp_path, monkeypatch):
    from benchbench.suite import load_suite

    write("sub/a.txt", "alpha")
    write("sub/b.txt", "beta")
    suite = write("sub/s.yaml", "name: s\nworkloads:" + GOOD_WORKLOAD
                  + "    matrix:\n      prompt_file: [a.txt, b.txt]\n")
    monkeypatch.chdir(tmp_path)
    specs = load_suite(suite).workloads
    assert [s.name for s in specs] == ["a[prompt_file=a.txt]", "a[prompt_file=b.txt]"]
    assert [s.params["prompt_file"] for s in specs] == [str(tmp_path / "sub/a.txt"), str(tmp_path / "sub/b.txt")]
    bad = write("sub/bad.yaml", "name: s\nworkloads:" + GOOD_WORKLOAD + "    matrix:\n      prompt_file: [zz.txt]\n")
    with pytest.raises(Exception, match="file not found: zz.txt"):
        load_suite(bad)
