"""The redaction layer as properties: a secret planted in any of the places a person might put one
never survives redaction, redaction is idempotent, and ordinary benchmark text is left alone."""

from __future__ import annotations

import json
import string
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from benchbench import redact as rd

SECRETS = st.text(alphabet=string.ascii_letters + string.digits, min_size=20, max_size=40)
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@pytest.fixture(autouse=True)
def fresh_secrets():
    rd.clear_secrets()
    yield
    rd.clear_secrets()


# Every place a secret can hide that redaction knows without being told the secret.
PLACEMENTS = {
    "url userinfo": lambda s: f"http://user:{s}@10.0.0.5:11434/api",
    "url user only": lambda s: f"https://{s}@github.com/org/repo.git",
    "url userinfo encoded": lambda s: "http://plug/cm?next=" + quote(f"http://admin:{s}@plug", safe=""),
    "bare userinfo": lambda s: f"OLLAMA_HOST=admin:{s}@10.0.0.5:11434",
    "query api_key": lambda s: f"GET http://h/v1/models?api_key={s}&limit=3",
    "query token": lambda s: f"http://h/x?token={s}",
    "query password": lambda s: f"http://plug/cm?cmnd=Status%2010&user=admin&password={s}",
    "query access_token": lambda s: f"http://h/x?a=1&access_token={s}#frag",
    "bearer header": lambda s: f"Authorization: Bearer {s}",
    "bearer lowercase": lambda s: f"sent bearer {s} to the server",
    "basic header": lambda s: f"authorization=Basic {s}",
    "pair password": lambda s: f"plug refused: password={s}",
    "pair json": lambda s: f'{{"client_secret": "{s}", "n": 3}}',
    "pair yaml": lambda s: f"api_key: {s}",
    "x-api-key": lambda s: f"X-Api-Key: {s}",
    "openai key": lambda s: f"the key sk-proj-{s} was refused",
    "anthropic key": lambda s: f"sk-ant-{s}",
    "hf token": lambda s: f"hf_{s}",
    "github token": lambda s: f"ghp_{s}{s}",
    "github pat": lambda s: f"github_pat_{s}_{s}",
    "gitlab token": lambda s: f"glpat-{s}",
    "groq key": lambda s: f"gsk_{s}",
    "jwt": lambda s: f"eyJhbGciOiJIUzI1NiJ9.eyJ{s}.{s}",
}

STRUCTURES = {
    "nested authorization": lambda s: {"options": {"nested": {"authorization": f"Bearer {s}"}}},
    "api_key option": lambda s: {"params": {"api_key": s}},
    "password number-like": lambda s: {"password": s},
    "headers list": lambda s: {"headers": [{"name": "X-Api-Key", "X-Api-Key": s}]},
    "secret list": lambda s: {"secrets": [s, s]},
    "env var name": lambda s: {"env": {"HF_TOKEN": s, "OPENAI_API_KEY": s}},
    "camel case": lambda s: {"hfToken": s, "accessKey": s},
    "key of a mapping": lambda s: {f"http://u:{s}@h": 1},
}


@pytest.mark.parametrize("where", sorted(PLACEMENTS))
@SETTINGS
@given(secret=SECRETS)
def test_a_secret_in_text_never_survives(where, secret):
    text = PLACEMENTS[where](secret)
    out = rd.redact_text(text)
    assert secret not in out and rd.MASK in out
    assert rd.redact_text(out) == out                      # idempotent


@pytest.mark.parametrize("where", sorted(STRUCTURES))
@SETTINGS
@given(secret=SECRETS)
def test_a_secret_in_a_structure_never_survives(where, secret):
    out = json.dumps(rd.redact(STRUCTURES[where](secret)))
    assert secret not in out


@SETTINGS
@given(secret=SECRETS, name=st.from_regex(r"[A-Z][A-Z0-9_]{2,20}", fullmatch=True),
       filler=st.text(min_size=0, max_size=30))
def test_any_variable_read_through_an_env_key_is_hidden_everywhere(secret, name, filler):
    rd.clear_secrets()
    assert rd.read_env(name, {name: secret}) == secret
    for text in (f"{filler}{secret}{filler}", f"echo: {secret}", quote(secret, safe=""), f"x{secret}y"):
        assert secret not in rd.redact_text(text)


@SETTINGS
@given(secret=SECRETS)
def test_env_keys_in_a_suite_register_their_variables(secret):
    rd.clear_secrets()
    suite = {"workloads": [{"api_key_env": "MY_KEY"}], "power": {"tasmota": {"password_env": "PLUG_PW"}}}
    rd.register_env_keys(suite, {"MY_KEY": secret, "PLUG_PW": secret[::-1]})
    assert secret not in rd.redact_text(f"text_head: ... {secret} ...")
    assert secret[::-1] not in rd.redact_text(f"password {secret[::-1]}")


@SETTINGS
@given(secret=SECRETS)
def test_secret_named_environment_variables_are_learnt(secret):
    rd.clear_secrets()
    rd.scan_environment({"HF_TOKEN": secret, "PATH": "/usr/bin"})
    assert secret not in rd.redact_text(f"downloading with {secret}")
    assert "/usr/bin" in rd.redact_text("PATH=/usr/bin")


BENIGN = st.fixed_dictionaries({
    "max_tokens": st.integers(1, 10**6), "prompt_tokens": st.integers(1, 10**6),
    "j_per_token": st.floats(0, 1e3, allow_nan=False), "num_key_value_heads": st.integers(1, 64),
    "params_key": st.just('{"model": "llama3.1:8b", "options": {"num_ctx": 8192}}'),
    "hit_token_limit": st.booleans(), "host_key_known": st.booleans(),
    "url": st.just("http://10.0.0.5:11434"), "token_required": st.booleans(),
    "note": st.just("tokens/s per W; KEY=VALUE; e-mail me@example.org at 12:30"),
})


@settings(max_examples=60, deadline=None)
@given(data=BENIGN)
def test_ordinary_benchmark_data_is_left_alone(data):
    assert rd.redact(data) == data
    text = json.dumps(data)
    assert rd.redact_text(text) == text


def test_secret_names():
    secret = ["api_key", "OPENAI_API_KEY", "X-Api-Key", "hfToken", "HF_TOKEN", "password", "db_passwd",
              "client_secret", "Authorization", "access_token", "token", "session_cookie", "auth"]
    plain = ["api_key_env", "password_env", "token_env", "max_tokens", "prompt_tokens", "j_per_token_s",
             "num_key_value_heads", "params_key", "KEY", "tokenizer", "author", "keys", "monkey", "PWD",
             "OLDPWD", "SSH_AUTH_SOCK"]
    assert [n for n in secret if not rd.secret_name(n)] == []
    assert [n for n in plain if rd.secret_name(n)] == []


def test_short_values_are_not_replaced_literally():
    rd.add_secret("abc")
    assert rd.redact_text("abc abc") == "abc abc"


def test_data_uris_are_left_whole():
    png = "data:image/png;base64," + "AIza" + "A" * 40 + "=="
    assert rd.redact_text(f'<img src="{png}"> sk-{"a" * 20}') == f'<img src="{png}"> {rd.MASK}'


def test_the_stream_redacts_and_escapes_controls(capsys):
    import sys

    rd.add_secret("hunter2hunter2")
    with rd.redacted_streams():
        print("pw hunter2hunter2 \x1b]0;owned\x07 end\r")
        print("to stderr: http://u:p4ssw0rd@h", file=sys.stderr)
    out, err = capsys.readouterr()
    assert out == f"pw {rd.MASK} \\x1b]0;owned\\x07 end\r\n"
    assert err == f"to stderr: http://{rd.MASK}@h\n"
