"""A new user's journey through the CLI: each test pins a bug found by walking the README's commands
with bad paths, malformed files and pipes (one line on stderr and exit 2, never a traceback; only JSON
with --json; no progress bars when stdout is not a terminal)."""

from __future__ import annotations

import io
import json

import pytest
from analysis_helpers import llm_run, write_run
from conftest import run_subprocess, tiny_suite

from benchbench.errors import UserError
from benchbench.suite import load_suite


def one_line_error(code: int, out: str, err: str, *parts: str) -> None:
    assert code == 2 and out == "", (code, out, err)
    assert err.startswith("error: ") and err.count("\n") == 1 and "Traceback" not in err, err
    for part in parts:
        assert part in err, err


@pytest.fixture
def results(tmp_path):
    """A results folder holding one LLM run record."""
    rec, samples = llm_run(tok_s=[40, 42, 41], gpu_w=200, wall_w=300, idle_w=100)
    write_run(tmp_path / "results", rec, samples)
    return tmp_path / "results"


# --- benchbench report -------------------------------------------------------------------------
def test_report_into_a_path_it_cannot_write_is_one_line(cli, results, tmp_path):
    blocker = tmp_path / "afile"
    blocker.write_text("x")
    code, out, err = cli("report", results, "--no-reference", "-o", blocker / "r.json")
    one_line_error(code, out, err, f"{blocker / 'r.json'}: -o: cannot write the report: {blocker} is a file")
    # csv writes a folder of tables: an existing file named by -o is in the way
    code, out, err = cli("report", results, "--no-reference", "--format", "csv", "-o", blocker)
    one_line_error(code, out, err, "cannot write the report", "is a file, not a folder")
    code, out, err = cli("report", results, "--format", "text", "-o", blocker / "r.txt")
    one_line_error(code, out, err, "cannot write the report")


def test_report_into_an_existing_folder_names_the_fix(cli, results, tmp_path):
    code, out, err = cli("report", results, "-o", tmp_path, "--format", "html")
    one_line_error(code, out, err, f"{tmp_path}: -o: is a folder; the html format writes one file",
                   f"-o {tmp_path / 'report.html'}")
    assert not list(tmp_path.glob(".*.tmp"))                 # no half-written temp file left behind


def test_text_summary_labels_published_rows(cli, tmp_path):
    code, out, _ = cli("report", tmp_path, "--reference")
    rows = [line.split() for line in out.splitlines()[2:]]
    assert code == 0 and len(rows) > 10
    assert all("published" in row and "complete" not in row for row in rows)


def test_a_record_named_twice_counts_once(cli, results):
    path = next(results.rglob("*.json"))
    code, out, _ = cli("report", results, results, path, "--no-reference", "--format", "json")
    doc = json.loads(out)
    assert code == 0 and doc["records"] == 1
    code, out, _ = cli("report", results, path)
    assert code == 0 and len(out.splitlines()) == 3          # header, rule, one row


@pytest.mark.parametrize("change, why", [
    (lambda r: r.update(iterations="x"), "iterations: expected a list, found 'x'"),
    (lambda r: r.update(machine=None), "machine: expected an object, found null"),
    (lambda r: r["iterations"].__setitem__(0, 3), "iterations.0: expected an object, found 3"),
    (lambda r: r["iterations"][1].update(duration_s="slow"), "iterations.1.duration_s: expected a number, "
                                                                 "found 'slow'"),
])
def test_malformed_record_is_skipped_with_a_warning(cli, results, change, why):
    path = next(results.rglob("*.json"))
    rec = json.loads(path.read_text())
    change(rec)
    path.write_text(json.dumps(rec))
    code, out, err = cli("report", results)
    assert code == 0 and out == "no records\n" and f"{path}: skipped ({why})" in err
    code, out, err = cli("report", results, "--format", "json")
    assert code == 0 and json.loads(out)["records"] == 0 and "Traceback" not in err


# --- benchbench run ----------------------------------------------------------------------------
def test_results_folder_that_cannot_be_created_is_one_line(cli, write, tmp_path):
    suite = tiny_suite(write)
    blocker = tmp_path / "afile"
    blocker.write_text("x")
    code, out, err = cli("run", suite, "--results", blocker)
    one_line_error(code, out, err, f"{blocker}: --results: cannot create the folder: {blocker} is a file")
    assert blocker.read_text() == "x"


def test_unknown_machine_in_a_suite_points_at_its_line(cli, write):
    suite = write("suite.yaml", "name: s\nmachine: p4O-server\nworkloads:\n"
                                "  - {name: a, kind: tts, backend: espeak-ng, text: hi}\n")
    code, out, err = cli("run", suite, "--dry-run")
    one_line_error(code, out, err, f"{suite}:2: machine: no machine profile named `p4O-server`",
                   "did you mean `p40-server`?")
    suite.write_text(suite.read_text().replace("p4O-server", "./nope.yaml"))
    code, out, err = cli("run", suite, "--dry-run")
    one_line_error(code, out, err, f"{suite}:2: machine: machine profile not found: ./nope.yaml")


def test_path_key_naming_a_folder_fails_at_validation(write, tmp_path):
    suite = write("suite.yaml", "name: s\nworkloads:\n  - name: a\n    kind: tts\n    backend: espeak-ng\n"
                                "    text_file: .\n")
    with pytest.raises(UserError) as exc:
        load_suite(suite)
    assert exc.value.one_line() == (f"{suite}:6: workloads[0].text_file: is a folder, not a file: . "
                                    f"(paths are relative to the suite file ({tmp_path}))")


@pytest.mark.parametrize("url", ["5", "192.168.1.50", "[ftp://plug]", "[]"])
def test_plug_address_is_checked_with_the_suite(write, url):
    suite = write("suite.yaml", f"name: s\npower: {{samplers: [shelly], shelly: {{url: {url}}}}}\nworkloads:\n"
                                "  - {name: a, kind: tts, backend: espeak-ng, text: hi}\n")
    with pytest.raises(UserError, match=r"suite.yaml:2: power.shelly: shelly.url must be an http:// address"):
        load_suite(suite)


def test_ollama_options_are_checked_by_name_and_type(write):
    pytest.importorskip("ollama")
    head = "name: s\nworkloads:\n  - name: a\n    kind: llm\n    backend: ollama\n    model: m\n"
    typo = write("typo.yaml", head + "    options: {num_ctxx: 4096}\n")
    with pytest.raises(UserError) as exc:
        load_suite(typo)
    assert exc.value.one_line() == (f"{typo}:7: workloads[0].options: unknown Ollama option `num_ctxx` "
                                    "(did you mean `num_ctx`?)")
    wrong = write("wrong.yaml", head + "    matrix: {options.num_ctx: [2048, big]}\n")
    with pytest.raises(UserError, match=r"workloads\[0\].options: num_ctx: input should be a valid integer.*'big'"):
        load_suite(wrong)
    fine = write("fine.yaml", head + "    options: {num_ctx: 4096, min_p: 0.05, stop: [x], num_gpu: 99}\n")
    assert load_suite(fine).workloads[0].params["options"]["min_p"] == 0.05


def test_misspelt_torch_device_is_bad_input():
    pytest.importorskip("torch")
    from benchbench.torch_util import pick_device

    with pytest.raises(UserError) as exc:
        pick_device("gpu")
    assert exc.value.one_line() == "device: unknown device 'gpu' (auto, cpu, cuda, cuda:N or mps)"
    assert pick_device("cpu") == "cpu"


def test_no_progress_bars_when_stdout_is_not_a_terminal(monkeypatch):
    from benchbench.progress import Progress

    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.delenv("CI", raising=False)
    monkeypatch.setenv("TERM", "xterm")
    monkeypatch.setattr("sys.stdout", io.StringIO())          # piped: `benchbench run > out.txt`
    assert not Progress(stream=Tty()).bars
    monkeypatch.setattr("sys.stdout", Tty())
    assert Progress(stream=Tty()).bars


def test_model_library_bars_stay_off_when_piped(tmp_path, monkeypatch):
    """transformers draws its own "Loading weights" bar into a log file unless told not to."""
    transformers = pytest.importorskip("transformers")
    tokenizers = pytest.importorskip("tokenizers")
    config = transformers.LlamaConfig(vocab_size=128, hidden_size=16, intermediate_size=32, num_hidden_layers=1,
                                      num_attention_heads=2, num_key_value_heads=2)
    transformers.LlamaForCausalLM(config).save_pretrained(tmp_path / "model")
    vocab = {"<unk>": 0} | {chr(i): i for i in range(32, 127)}
    tok = tokenizers.Tokenizer(tokenizers.models.WordLevel(vocab=vocab, unk_token="<unk>"))
    tok.pre_tokenizer = tokenizers.pre_tokenizers.Split("", "isolated")
    transformers.PreTrainedTokenizerFast(tokenizer_object=tok, unk_token="<unk>",
                                         eos_token="<unk>").save_pretrained(tmp_path / "model")
    (tmp_path / "s.yaml").write_text("name: s\nwarmups: 0\nrepetitions: 1\npower: {samplers: [none]}\n"
                                     "workloads:\n  - {name: m, kind: llm, backend: transformers, model: model, "
                                     "device: cpu, prompt_tokens: 4, max_tokens: 2}\n")
    monkeypatch.delenv("HF_HUB_DISABLE_PROGRESS_BARS", raising=False)
    done = run_subprocess(["run", "s.yaml", "--results", "r"], cwd=tmp_path, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "[m] complete" in done.stderr and "Loading" not in done.stderr and "\r" not in done.stderr


# --- benchbench idle / doctor / serve-video ----------------------------------------------------
def test_idle_checks_its_folder_and_duration_before_measuring(cli, tmp_path):
    blocker = tmp_path / "afile"
    blocker.write_text("x")
    code, out, err = cli("idle", "--seconds", "1", "--results", blocker)
    one_line_error(code, out, err, "--results: cannot create the folder")
    code, out, err = cli("idle", "--seconds", "inf")
    one_line_error(code, out, err, "--seconds: must be more than 0 and finite, found inf")


def test_doctor_with_a_bad_suite_is_one_line(cli, write):
    bad = write("bad.yaml", "name: s\nrepetitons: 3\nworkloads: []\n")
    code, out, err = cli("doctor", "--suite", bad)
    one_line_error(code, out, err, f"{bad}:2: repetitons: unknown key `repetitons` (did you mean `repetitions`?)")
    code, out, err = cli("doctor", "--suite", "no-such-suite", "--json")
    one_line_error(code, out, err, "no suite named `no-such-suite`")


def test_doctor_prints_mappings_as_key_value(cli):
    code, out, _ = cli("doctor")
    lines = out.splitlines()
    assert code == 0 and "remote:" in lines
    assert lines[lines.index("remote:") + 1].startswith("  ssh_client: ")
    assert not any(line.lstrip().startswith("{'") for line in lines)


@pytest.mark.parametrize("args, message", [
    (["--port", "70000"], "--port: must be between 0 and 65535, found 70000"),
    (["--machine", "no-such-machine"], "no machine profile named `no-such-machine`"),
    (["--max-duration", "nan"], "--max-duration: must be greater than 0, found nan"),
    (["--host", "999.1.1.1", "--port", "0"], "--host: cannot listen on 999.1.1.1:0"),
])
def test_serve_video_bad_settings_fail_at_start_up(cli, tmp_path, args, message):
    pytest.importorskip("uvicorn")
    code, out, err = cli("serve-video", "--results", tmp_path / "r", "--tiny", "--power", "none", *args)
    one_line_error(code, out, err, message)


def test_serve_video_results_that_is_a_file(cli, tmp_path):
    pytest.importorskip("uvicorn")
    blocker = tmp_path / "afile"
    blocker.write_text("x")
    code, out, err = cli("serve-video", "--results", blocker, "--tiny", "--power", "none", "--port", "0")
    one_line_error(code, out, err, "--results: cannot create the folder")


# --- files every command reads: machine profiles -----------------------------------------------
@pytest.mark.parametrize("body, message", [
    ("name: t\nidle_w: .inf\n", "p.yaml:2: idle_w: must be a finite number, found inf"),
    ("name: t\nhardware_cost: .nan\n", "p.yaml:2: hardware_cost: must be a finite number, found nan"),
    ("name: t\nhardware_cost: 1e3\n", "p.yaml:2: hardware_cost: must be a number, found '1e3' "
                                      "(write it unquoted, as 1000)"),
    ("- a\n- b\n", "p.yaml:1: a machine profile must be a mapping, found a list"),
])
def test_profile_values_every_command_reads(cli, write, body, message):
    profile = write("p.yaml", body)
    code, out, err = cli("cost", "--machine", profile, "--tok-s", "40", "--json")
    one_line_error(code, out, err, message)


def test_workload_entry_of_the_wrong_type_names_it(write):
    suite = write("suite.yaml", "name: s\nworkloads:\n  - just-a-string\n")
    with pytest.raises(UserError, match=r"workloads\[0\]: a workload must be a mapping, found a string"):
        load_suite(suite)
