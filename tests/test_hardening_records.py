"""Records are never lost: names that slug alike, sessions started in the same second, two runs of
one session at once, samples kept as they are taken, stale temporary files removed."""

from __future__ import annotations

import os
import threading
import time

import pytest
import yaml
from fakes_llm_servers import FakeOllama

from benchbench.record import (
    clean_stale_temp,
    load_record,
    load_records,
    new_session_id,
    run_slug,
    session_lock,
)


@pytest.fixture(scope="module")
def ollama():
    with FakeOllama() as server:
        yield server


def _suite(tmp_path, url: str, names: list[str], name: str = "clash", **extra) -> object:
    workloads = [{"name": n, "kind": "llm", "backend": "ollama", "model": "llama3.2:3b", "host": url,
                  "max_tokens": 4, **extra} for n in names]
    path = tmp_path / f"{name.replace(' ', '-').replace('/', '-')}.yaml"
    path.write_text(yaml.safe_dump({"name": name, "warmups": 0, "repetitions": 1, "power": {"samplers": ["none"]},
                                    "workloads": workloads}), encoding="utf-8")
    return path


def _runs(results) -> list[dict]:
    return [r for r in load_records([results]) if r.get("type") == "run"]


def test_names_that_slug_alike_keep_their_own_records(tmp_path, cli, ollama):
    names = ["gen a/b", "gen a b", "gen_a_b", "gen a?b", "GEN A B"]
    suite = _suite(tmp_path, ollama.url, names)
    code, out, err = cli("run", suite, "--results", tmp_path / "r")
    assert code == 0, err
    recs = _runs(tmp_path / "r")
    assert sorted(r["workload"]["name"] for r in recs) == sorted(names)
    assert len({r["_path"] for r in recs}) == len(names)
    code, out, err = cli("run", suite, "--results", tmp_path / "r", "--resume", "latest")
    assert code == 0 and err.count("already complete") == len(names)       # the resume settles


def test_matrix_values_that_slug_alike_keep_their_own_records(tmp_path, cli, ollama):
    path = tmp_path / "m.yaml"
    path.write_text(yaml.safe_dump({"name": "m", "warmups": 0, "repetitions": 1, "power": {"samplers": ["none"]},
                                    "workloads": [{"name": "hi", "kind": "llm", "backend": "ollama",
                                                   "model": "llama3.2:3b", "host": ollama.url, "max_tokens": 4,
                                                   "matrix": {"prompt": ["Hi!", "Hi?", "Hi*"]}}]}))
    code, _, err = cli("run", path, "--results", tmp_path / "r")
    assert code == 0, err
    recs = _runs(tmp_path / "r")
    assert sorted(r["workload"]["params"]["prompt"] for r in recs) == ["Hi!", "Hi*", "Hi?"]


def test_run_slugs_differ_for_every_name_and_params():
    names = ["a/b", "a b", "a_b", "a?b", "a\nb", "a" * 200, "a" * 201]
    slugs = {run_slug(n, {}) for n in names} | {run_slug("a/b", {"x": 1}), run_slug("a/b", {"x": 2})}
    assert len(slugs) == len(names) + 2
    assert all(len(s) <= 57 and "/" not in s for s in slugs)


def test_session_ids_do_not_collide_within_a_second():
    ids = [new_session_id() for _ in range(20_000)]
    assert len(set(ids)) == len(ids)
    assert len({i.split("-")[0] for i in ids}) <= 3           # the same few seconds: the random part decides


def test_two_runs_at_once_keep_both_records(tmp_path, ollama):
    from benchbench.progress import Progress
    from benchbench.runner import Runner, RunOptions
    from benchbench.suite import load_suite

    suite = load_suite(_suite(tmp_path, ollama.url, ["same"]))
    outcomes = []

    def run() -> None:
        outcomes.append(Runner(suite, None, RunOptions(results=tmp_path / "r"), Progress(quiet=True)).run())

    threads = [threading.Thread(target=run) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert [o.exit_code for o in outcomes] == [0] * 4
    recs = _runs(tmp_path / "r")
    assert len(recs) == 4 and len({r["session_id"] for r in recs}) == 4
    assert all(r["status"] == "complete" for r in recs)


def test_a_session_being_run_cannot_be_resumed_at_the_same_time(tmp_path, cli, ollama):
    suite = _suite(tmp_path, ollama.url, ["one"], repetitions=2)
    code, _, err = cli("run", suite, "--results", tmp_path / "r")
    assert code == 0, err
    (rec,) = _runs(tmp_path / "r")
    folder = tmp_path / "r" / rec["machine"]["name"] / "clash"
    with session_lock(folder, rec["session_id"]):           # another benchbench is running it
        code, out, err = cli("run", suite, "--results", tmp_path / "r", "--resume", "latest")
    assert code == 2 and out == "" and err.count("\n") == 1
    assert f"session {rec['session_id']} is being run right now by benchbench pid {os.getpid()}" in err
    code, _, err = cli("run", suite, "--results", tmp_path / "r", "--resume", "latest")
    assert code == 0, err


def test_resume_latest_stays_within_its_suite(tmp_path, cli, ollama):
    first = _suite(tmp_path, ollama.url, ["w"], name="a b")
    second = _suite(tmp_path, ollama.url, ["w"], name="a_b")        # the same results folder
    assert cli("run", first, "--results", tmp_path / "r")[0] == 0
    time.sleep(1.1)
    assert cli("run", second, "--results", tmp_path / "r")[0] == 0
    code, out, err = cli("run", first, "--results", tmp_path / "r", "--resume", "latest")
    assert code == 0, err
    (a_b,) = [r for r in _runs(tmp_path / "r") if r["suite"]["name"] == "a b"]
    assert f"resuming session {a_b['session_id']}" in err


def test_stale_temporary_files_are_removed_fresh_ones_kept(tmp_path, cli, ollama):
    suite = _suite(tmp_path, ollama.url, ["w"])
    assert cli("run", suite, "--results", tmp_path / "r")[0] == 0
    (rec,) = _runs(tmp_path / "r")
    folder = load_record(rec["_path"])["_path"].rsplit("/", 1)[0]
    stale, fresh = f"{folder}/.x.json.abc123.tmp", f"{folder}/.y.json.def456.tmp"
    for path in (stale, fresh):
        with open(path, "w") as fh:
            fh.write('{"half": ')
    os.utime(stale, (time.time() - 3600, time.time() - 3600))
    assert cli("run", suite, "--results", tmp_path / "r")[0] == 0
    assert not os.path.exists(stale) and os.path.exists(fresh)
    assert clean_stale_temp(tmp_path / "nowhere") == []


def test_samples_are_appended_as_they_are_taken(tmp_path):
    import pandas as pd

    from benchbench.power.base import Channel, Sampler
    from benchbench.power.monitor import PowerMonitor

    class Hand(Sampler):
        name = "hand"

        def open(self):
            return [Channel("gpu0", "gpu", "hand", "by hand")]

        def _loop(self):
            self._stop.wait()

    sampler = Hand(0.1)
    path = tmp_path / "run.power.csv"
    with PowerMonitor([([sampler], False)], 0.1) as mon:
        sampler.store([], 0.0)
        for t in range(3):
            sampler.series["gpu0"].add(float(t), 100.0 + t, None, {})
        assert mon.save_samples(path) == "run.power.csv"
        first = pd.read_csv(path)
        sampler.series["gpu0"].add(3.0, 103.0, None, {"temp_c": 50})
        mon.save_samples(path)
        assert mon.save_samples(path) == "run.power.csv"          # nothing new: nothing written twice
    df = pd.read_csv(path)
    assert len(first) == 3 and list(df["t_s"]) == [0.0, 1.0, 2.0, 3.0] and list(df["power_w"]) == [100, 101, 102, 103]
    # a column first seen after the first append (telemetry that starts late) is kept: the file is written again
    assert "temp_c" not in first.columns and df["temp_c"].isna().tolist() == [True, True, True, False]
    assert df["temp_c"].iloc[3] == 50 and not list(tmp_path.glob(".*.tmp"))
