"""Malformed input, hostile sizes and odd encodings: every case ends with exit code 2, exactly one
line on stderr starting with `error: `, nothing on stdout and no traceback. In-process (the `cli`
fixture); nothing runs a model: suites are checked with `run --dry-run`, profiles with `cost`."""

from __future__ import annotations

import os

import pytest

from benchbench import limits

W = """
  - name: a
    kind: llm
    backend: transformers
    architecture: tiny-llama
    weights: dummy
"""
HEAD = "name: s\nworkloads:" + W
TTS = "name: s\nworkloads:\n  - name: t\n    kind: tts\n    backend: espeak-ng\n"


def _nest(n: int) -> str:
    return "a: " + "[" * n + "]" * n + "\n"


def _bomb(levels: int = 6) -> str:
    lines = ["l0: &l0 [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, levels):
        lines.append(f"l{i}: &l{i} [" + ", ".join([f"*l{i - 1}"] * 10) + "]")
    return "\n".join(lines) + "\n" + HEAD


def _matrix(axes: int, values: int) -> str:
    body = "".join(f"      options.o{i}: [{', '.join(str(v) for v in range(values))}]\n" for i in range(axes))
    return HEAD + "    matrix:\n" + body


# suite text → a fragment of the one-line error
SUITES: dict[str, tuple[str, str]] = {
    "nested_400_deep": (_nest(400), "nested more than"),
    "nested_mappings": ("".join("  " * i + f"k{i}:\n" for i in range(60)) + "  " * 60 + "v: 1\n", "nested more than"),
    "nested_in_options": (HEAD + "    options: " + "{a: " * 50 + "1" + "}" * 50 + "\n", "nested more than"),
    "alias_bomb": (_bomb(), "alias bomb"),
    "alias_bomb_in_options": ("x: &x [" + ", ".join(["y"] * 400) + "]\ny: &y [" + ", ".join(["*x"] * 400)
                              + "]\n" + HEAD, "alias bomb"),
    "recursive_alias": ("a: &a [1, *a]\n" + HEAD, "refers to the collection that contains it"),
    "undefined_alias": (HEAD + "    model: *nothing\n", "invalid YAML"),
    "int_4000_digits": (HEAD + "    max_tokens: " + "9" * 4000 + "\n", "integers must fit in 64 bits"),
    "int_65_bits": (HEAD + f"    max_tokens: {2**64}\n", "integers must fit in 64 bits"),
    "int_negative_65_bits": (HEAD + f"    max_tokens: -{2**64}\n", "integers must fit in 64 bits"),
    "hex_int_huge": (HEAD + "    max_tokens: 0x" + "f" * 40 + "\n", "integers must fit in 64 bits"),
    "list_as_key": ("[a, b]: 1\n" + HEAD, "a list used as a key"),
    "mapping_as_key": ("? {a: 1}\n: 2\n" + HEAD, "a mapping used as a key"),
    "list_key_in_workload": (HEAD + "    [x]: 1\n", "a list used as a key"),
    "repetitions_1e20": ("name: s\nrepetitions: 100000000000000000000\nworkloads:" + W, "integers must fit"),
    "repetitions_too_many": ("name: s\nrepetitions: 10000001\nworkloads:" + W, "at most 10000"),
    "repetitions_float_text": ("name: s\nrepetitions: 1e20\nworkloads:" + W, "must be an integer"),
    "repetitions_float": ("name: s\nrepetitions: 1.0e+20\nworkloads:" + W, "must be an integer"),
    "repetitions_zero": ("name: s\nrepetitions: 0\nworkloads:" + W, "greater than 0"),
    "workload_repetitions_huge": (HEAD + "    repetitions: 99999999\n", "at most 10000"),
    "warmups_huge": ("name: s\nwarmups: 5000000\nworkloads:" + W, "at most 1000"),
    "max_tokens_1e12": (HEAD + "    max_tokens: 1000000000000\n", f"at most {limits.MAX_TOKENS}"),
    "max_tokens_zero": (HEAD + "    max_tokens: 0\n", "greater than 0"),
    "max_tokens_one_transformers": (HEAD + "    max_tokens: 1\n", "at least 2"),
    "prompt_tokens_1e9": (HEAD + "    prompt_tokens: 1000000000\n", f"at most {limits.MAX_TOKENS}"),
    "tokens_over_context": (HEAD + "    prompt_tokens: 2000\n    max_tokens: 100\n", "exceed the context of 2048"),
    "tokens_over_inline_context": ("name: s\nworkloads:\n  - name: a\n    kind: llm\n    backend: transformers\n"
                                   "    weights: dummy\n    architecture: {model_type: llama, hidden_size: 64, "
                                   "num_attention_heads: 4, max_position_embeddings: 64}\n    prompt_tokens: 60\n"
                                   "    max_tokens: 8\n", "exceed the context of 64"),
    "ollama_over_num_ctx": ("name: s\nworkloads:\n  - name: o\n    kind: llm\n    backend: ollama\n    model: m\n"
                            "    prompt_tokens: 4000\n    options: {num_ctx: 2048}\n", "exceed options.num_ctx"),
    "seed_65_bits": (HEAD + f"    seed: {2**64 - 1}\n", "must be at most"),
    "seed_64_bits": (HEAD + f"    seed: {2**63}\n", "must be at most"),
    "seed_negative": (HEAD + "    seed: -1\n", "0 or more"),
    "seed_text": (HEAD + "    seed: lucky\n", "must be an integer"),
    "seed_float": (HEAD + "    seed: 4.2\n", "must be an integer"),
    "matrix_10e6": (_matrix(6, 10), "the matrix makes 1000000 runs"),
    "matrix_over_cap": (_matrix(2, 17), "pass --yes"),
    "matrix_empty_list": (HEAD + "    matrix:\n      max_tokens: []\n", "non-empty list"),
    "matrix_repeats": (HEAD + "    matrix:\n      max_tokens: [4, 4]\n", "matrix values repeat"),
    "matrix_name_axis": (HEAD + "    matrix:\n      name: [a, b]\n", "unknown key"),
    "matrix_mapping_values": (HEAD + "    matrix:\n      max_tokens: {a: 1}\n", "non-empty list"),
    "matrix_over_context": (HEAD + "    matrix:\n      max_tokens: [8, 4096]\n", "exceed the context"),
    "inline_arch_no_model_type": (HEAD.replace("tiny-llama", "{hidden_size: 64}"), "needs `model_type`"),
    "inline_arch_model_type_list": (HEAD.replace("tiny-llama", "{model_type: [llama]}"), "needs `model_type`"),
    "inline_arch_negative": (HEAD.replace("tiny-llama", "{model_type: llama, hidden_size: -1}"),
                             "hidden_size` must be a whole number"),
    "inline_arch_huge": (HEAD.replace("tiny-llama", "{model_type: llama, num_hidden_layers: 1000000000}"),
                         "num_hidden_layers` must be a whole number"),
    "inline_arch_text_size": (HEAD.replace("tiny-llama", "{model_type: llama, hidden_size: big}"),
                              "hidden_size` must be a whole number"),
    "inline_arch_heads_mismatch": (HEAD.replace("tiny-llama", "{model_type: llama, hidden_size: 64, "
                                                "num_attention_heads: 5}"), "not a multiple of num_attention_heads"),
    "inline_arch_kv_mismatch": (HEAD.replace("tiny-llama", "{model_type: llama, hidden_size: 64, "
                                             "num_attention_heads: 4, num_key_value_heads: 3}"),
                                "not a multiple of num_key_value_heads"),
    "inline_arch_bad_key": (HEAD.replace("tiny-llama", "{model_type: llama, 'bad key': 1}"), "not a config name"),
    "inline_arch_list": (HEAD.replace("tiny-llama", "[llama]"), "must be a string or a mapping"),
    "workload_not_mapping": ("name: s\nworkloads:\n  - just a string\n", "must be a mapping"),
    "workloads_mapping": ("name: s\nworkloads: {a: 1}\n", "must be a list"),
    "name_is_list": ("name: [a]\nworkloads:" + W, "must be a string"),
    "name_is_date": ("name: 2024-01-01\nworkloads:" + W, "must be a string"),
    "top_level_scalar": ("just text\n", "must be a mapping"),
    "empty_file": ("", "must be a mapping, found nothing"),
    "only_comment": ("# nothing here\n", "must be a mapping, found nothing"),
    "python_tag": ("name: !!python/object:os.system ls\nworkloads:" + W, "invalid YAML"),
    "binary_tag": ("name: !!binary aGVsbG8=\nworkloads:" + W, "must be a string"),
    "tab_indent": ("name: s\nworkloads:\n\t- name: a\n", "invalid YAML"),
    "unclosed_quote": ('name: "s\nworkloads:' + W, "invalid YAML"),
    "two_documents": ("name: s\n---\nname: t\n", "invalid YAML"),
    "merge_key": ("base: &b {kind: llm}\nname: s\nworkloads:\n  - <<: *b\n    name: a\n", "invalid YAML"),
    "samplers_not_list": ("name: s\npower: {samplers: nvml}\nworkloads:" + W, "must be a list"),
    "interval_huge": ("name: s\npower: {interval_ms: 1.0e+300}\nworkloads:" + W, "between 1 and 60000"),
    "interval_inf": ("name: s\npower: {interval_ms: .inf}\nworkloads:" + W, "between 1 and 60000"),
    "interval_nan": ("name: s\npower: {interval_ms: .nan}\nworkloads:" + W, "between 1 and 60000"),
    "sampler_options_list": ("name: s\npower: {tasmota: [1]}\nworkloads:" + W, "must be a mapping"),
    "power_list": ("name: s\npower: [nvml]\nworkloads:" + W, "must be a mapping"),
    "timeout_negative": (HEAD + "    timeout_s: -5\n", "greater than 0"),
    "timeout_inf": (HEAD + "    timeout_s: .inf\n", "finite"),
    "options_list": (HEAD + "    options: [1, 2]\n", "must be a mapping"),
    "tts_empty_text": (TTS + "    text: '   '\n", "is empty"),
    "tts_no_text": (TTS, "needs `text` or `text_file`"),
    "ltx_jobs_bad_url": ("name: s\nworkloads:\n  - name: v\n    kind: video\n    backend: ltx-jobs\n    url: ftp://x\n"
                         "    prompt: p\n", "must start with http://"),
    "openai_key_in_url": ("name: s\nworkloads:\n  - name: o\n    kind: llm\n    backend: openai\n"
                          "    model: m\n    base_url: http://u:pw@h/v1\n", "credentials"),
}


@pytest.fixture
def one_line(cli):
    """Run the CLI; assert exit 2, one `error:` line on stderr, nothing on stdout, no traceback."""
    def check(*args: object, words: str) -> str:
        code, out, err = cli(*args)
        assert code == 2, (code, out, err)
        assert out == "" and "Traceback" not in err and err.endswith("\n")
        lines = err.splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), err
        assert words in lines[0], lines[0]
        return lines[0]
    return check


@pytest.mark.parametrize("case", sorted(SUITES))
def test_malformed_suite(tmp_path, one_line, case):
    text, words = SUITES[case]
    path = tmp_path / "suite.yaml"
    path.write_text(text, encoding="utf-8")
    line = one_line("run", path, "--dry-run", "--results", tmp_path / "r", words=words)
    assert str(path) in line


def _bytes_file(tmp_path, data: bytes):
    path = tmp_path / "suite.yaml"
    path.write_bytes(data)
    return path


def _latin1_prompt(tmp_path):
    (tmp_path / "prompt.txt").write_bytes("Erkläre das Jevons-Paradoxon".encode("latin-1"))
    return _write(tmp_path, HEAD + "    prompt_file: prompt.txt\n")


def _latin1_text(tmp_path):
    (tmp_path / "text.txt").write_bytes("Voilà un texte à lire".encode("latin-1"))
    return _write(tmp_path, TTS + "    text_file: text.txt\n")


def _loop(tmp_path, name: str):
    os.symlink(tmp_path / f"{name}.b", tmp_path / f"{name}.a")
    os.symlink(tmp_path / f"{name}.a", tmp_path / f"{name}.b")
    return f"{name}.a"


def _write(tmp_path, text: str):
    path = tmp_path / "suite.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def _big_prompt(tmp_path):
    with open(tmp_path / "big.txt", "wb") as fh:
        fh.truncate(limits.MAX_TEXT_FILE_BYTES + 1)
    return _write(tmp_path, HEAD + "    prompt_file: big.txt\n")


# a builder of the suite path → a fragment of the error
SUITE_FILES = {
    "latin1_suite": (lambda t: _bytes_file(t, ("name: caf\xe9\nworkloads:" + W).encode("latin-1")), "not UTF-8"),
    "utf16_suite": (lambda t: _bytes_file(t, ("name: s\nworkloads:" + W).encode("utf-16")), "not UTF-8"),
    "nul_bytes": (lambda t: _bytes_file(t, b"name: s\x00\nworkloads:\n"), "invalid YAML"),
    "control_chars": (lambda t: _bytes_file(t, b"name: s\x1b[31m\nworkloads:\n"), "invalid YAML"),
    "huge_suite": (lambda t: _bytes_file(t, b"# " + b"x" * (limits.MAX_FILE_BYTES + 1)), "bytes; at most"),
    "suite_is_folder": (lambda t: (t / "folder.yaml").mkdir() or (t / "folder.yaml"), "suite not found"),
    "suite_symlink_loop": (lambda t: t / _loop(t, "suite"), "suite not found"),
    "latin1_prompt_file": (_latin1_prompt, "not UTF-8 text"),
    "latin1_text_file": (_latin1_text, "not UTF-8 text"),
    "prompt_file_loop": (lambda t: _write(t, HEAD + f"    prompt_file: {_loop(t, 'p')}\n"), "symlink loop"),
    "text_file_loop": (lambda t: _write(t, TTS + f"    text_file: {_loop(t, 't')}\n"), "symlink loop"),
    "prompt_file_folder": (lambda t: (t / "pdir").mkdir() or _write(t, HEAD + "    prompt_file: pdir\n"),
                           "is a folder"),
    "prompt_file_too_big": (_big_prompt, "bytes; at most"),
}


@pytest.mark.parametrize("case", sorted(SUITE_FILES))
def test_malformed_suite_file(tmp_path, one_line, case):
    build, words = SUITE_FILES[case]
    path = build(tmp_path)
    one_line("run", path, "--dry-run", "--results", tmp_path / "r", words=words)


PROFILES = {
    "currency_markup": ("name: m\ncurrency: '<img src=x onerror=alert(1)>'\n", "three-letter currency code"),
    "currency_slash": ("name: m\ncurrency: US/D\n", "three-letter currency code"),
    "currency_traversal": ("name: m\ncurrency: ../../x\n", "three-letter currency code"),
    "currency_lowercase": ("name: m\ncurrency: usd\n", "three-letter currency code"),
    "currency_long": ("name: m\ncurrency: EURO\n", "three-letter currency code"),
    "currency_empty": ("name: m\ncurrency: ''\n", "three-letter currency code"),
    "currency_ansi": ("name: m\ncurrency: \"\\e[31mUSD\"\n", "three-letter currency code"),
    "price_negative": ("name: m\nelectricity_per_kwh: -0.1\n", "0 or more"),
    "price_inf": ("name: m\nelectricity_per_kwh: .inf\n", "finite"),
    "price_nan": ("name: m\nhardware_cost: .nan\n", "finite"),
    "price_text": ("name: m\nhardware_cost: lots\n", "must be a number"),
    "price_huge_int": ("name: m\nhardware_cost: " + "9" * 30 + "\n", "integers must fit"),
    "years_zero": ("name: m\namortization_years: 0\n", "greater than 0"),
    "utilization_two": ("name: m\nutilization: 2\n", "must be in (0, 1]"),
    "idle_list": ("name: m\nidle_w: [1, 2]\n", "must be a number"),
    "profile_list_key": ("name: m\n[a]: 1\n", "a list used as a key"),
    "profile_nested": ("name: m\ngpus: " + "[" * 100 + "]" * 100 + "\n", "nested more than"),
    "profile_bomb": ("a: &a [1,1,1,1,1,1,1,1,1,1]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]\n"
                     "c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]\n"
                     "e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d,*d]\nname: m\n", "alias bomb"),
    "profile_unknown_key": ("name: m\nelectricty_per_kwh: 0.2\n", "did you mean"),
    "profile_no_name": ("currency: USD\n", "missing required key `name`"),
    "profile_is_list": ("- name: m\n", "must be a mapping"),
}


@pytest.mark.parametrize("case", sorted(PROFILES))
def test_malformed_profile(tmp_path, one_line, case):
    text, words = PROFILES[case]
    path = tmp_path / "machine.yaml"
    path.write_text(text, encoding="utf-8")
    one_line("cost", "--machine", path, "--json", words=words)


def test_latin1_profile(tmp_path, one_line):
    path = tmp_path / "machine.yaml"
    path.write_bytes("name: caf\xe9\n".encode("latin-1"))
    one_line("cost", "--machine", path, words="not UTF-8")


COMMAND_LINES = {
    "cost_tok_s_subnormal": (("cost", "--tok-s", "1e-320", "--load-w", "300", "--json"), "at least 1e-09"),
    "cost_tok_s_inf": (("cost", "--tok-s", "inf"), "from 0 to"),
    "cost_tok_s_nan": (("cost", "--tok-s", "nan"), "from 0 to"),
    "cost_tok_s_overflow": (("cost", "--tok-s", "1e400"), "from 0 to"),
    "cost_load_huge": (("cost", "--load-w", "1e300"), "from 0 to"),
    "cost_price_negative": (("cost", "--price-kwh", "-1"), "from 0 to"),
    "cost_currency_markup": (("cost", "--currency", "<b>"), "three-letter currency code"),
    "cost_currency_path": (("cost", "--currency", "../x"), "three-letter currency code"),
    "cost_years_tiny": (("cost", "--years", "1e-30"), "at least 1e-09"),
    "cost_rtf_text": (("cost", "--rtf", "fast"), "not a number"),
    "run_matrix_over_cap_yes_not_enough": (None, "at most 100000"),
    "run_unknown_flag": (("run", "--frobnicate"), "unrecognized arguments"),
    "run_no_such_suite": (("run", "nope/suite.yaml"), "suite not found"),
    "run_unknown_suite_name": (("run", "no-such-suite-name"), "no suite named"),
    "report_unknown_format": (("report", "--format", "pdf"), "invalid choice"),
    "report_output_folder": (None, "is a folder"),
    "report_no_such_path": (("report", "no/such/records"), "no such file or folder"),
    "serve_port_huge": (("serve-video", "--tiny", "--power", "none", "--port", "70000"), "between 0 and 65535"),
    "serve_max_queue_zero": (("serve-video", "--tiny", "--max-queue", "0"), "must be greater than 0"),
    "serve_max_duration_nan": (("serve-video", "--tiny", "--max-duration", "nan"), "must be greater than 0"),
    "serve_set_seed": (("serve-video", "--tiny", "--set", "seed=1"), "comes from each request"),
    "serve_public_without_token": (("serve-video", "--tiny", "--power", "none", "--port", "0", "--host", "0.0.0.0"),
                                   "needs authentication"),
    "serve_token_unset": (("serve-video", "--tiny", "--token-env", "BB_SURELY_UNSET_VAR"), "is not set"),
    "no_command_flag": (("--frobnicate",), "unrecognized arguments"),
    "doctor_no_suite": (("doctor", "--suite", "nope/x.yaml"), "suite not found"),
}


@pytest.mark.parametrize("case", sorted(COMMAND_LINES))
def test_malformed_command_line(tmp_path, one_line, monkeypatch, case):
    monkeypatch.chdir(tmp_path)
    argv, words = COMMAND_LINES[case]
    if case == "run_matrix_over_cap_yes_not_enough":
        argv = ("run", _write(tmp_path, _matrix(6, 10)), "--dry-run", "--yes")
    elif case == "report_output_folder":
        (tmp_path / "out").mkdir()
        argv = ("report", "-o", tmp_path / "out", "--format", "html", "--no-reference")
    elif argv[0] == "serve-video":
        argv = (*argv, "--results", tmp_path / "r")
    one_line(*argv, words=words)


def test_a_big_matrix_runs_with_yes(tmp_path, cli):
    path = _write(tmp_path, _matrix(2, 17))
    code, out, err = cli("run", path, "--dry-run", "--yes", "--json", "--results", tmp_path / "r")
    assert code == 0 and out.count('"name": "a[') == 17 * 17


def test_resume_of_nothing_is_one_line(tmp_path, one_line):
    path = _write(tmp_path, HEAD)
    one_line("run", path, "--resume", "latest", "--results", tmp_path / "r", "--quiet", words="nothing to resume")


def test_a_device_this_machine_lacks_is_one_line(tmp_path, cli):
    """`device: cuda:7` on a CPU host: the record says why, stderr says it in one line, exit 2."""
    path = _write(tmp_path, "name: s\nwarmups: 0\nrepetitions: 1\npower: {samplers: [none]}\nworkloads:" + W
                  + "    device: cuda:7\n    max_tokens: 2\n    prompt_tokens: 4\n")
    code, out, err = cli("run", path, "--results", tmp_path / "r", "--quiet")
    assert code == 2 and "Traceback" not in err and "AssertionError" not in err + out
    (line,) = err.splitlines()
    assert line.startswith("error: a: ") and "device 'cuda:7' is not here" in line


def count_cases() -> int:
    """The malformed inputs of this file (the closing note quotes the figure)."""
    return len(SUITES) + len(SUITE_FILES) + len(PROFILES) + 1 + len(COMMAND_LINES) + 2
