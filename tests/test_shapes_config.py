"""Request shapes, time-of-use schedules and exchange rates as configuration: presets and where their numbers
come from, `mix:` in suites and profiles, and one-line errors (file, line, field) for what is wrong."""

from __future__ import annotations

import re

import pytest
from test_spine_errors import GOOD_WORKLOAD, _assert_one_line

from benchbench import tariff
from benchbench.profile import load_profile
from benchbench.shapes import PRESETS, parse_mix
from benchbench.suite import load_suite


def test_presets_say_where_their_numbers_come_from():
    assert set(PRESETS) == {"chat", "rag", "coding-agent", "summarization", "batch-translation"}
    for shape in PRESETS.values():
        assert shape.source and shape.estimates, shape.name
        assert shape.provenance in ("published", "estimated")
        assert shape.input_tokens > 0 and shape.output_tokens > 0
    # the numbers the docs quote (Azure conversation trace means; mini-swe-agent trajectories)
    chat, agent = PRESETS["chat"], PRESETS["coding-agent"]
    assert (chat.input_tokens, chat.output_tokens) == (1155, 211)
    assert (agent.input_tokens, agent.output_tokens, agent.cached_fraction) == (16518, 276, 0.84)
    assert agent.input_tokens / agent.output_tokens == pytest.approx(59.8, abs=0.1)


def test_mix_forms():
    rag = parse_mix({"preset": "rag", "requests_per_day": 1000})
    assert rag.requests_per_month == pytest.approx(1000 * 365 / 12) and rag.provenance == "estimated"
    own = parse_mix({"input_tokens": 2000, "output_tokens": 300, "cached_fraction": 0.5, "reasoning_tokens": 100,
                     "tokens_per_month": 2.4e6})
    assert (own.prefill_tokens, own.generated_tokens, own.tokens) == (1000, 400, 2400)
    assert own.requests_per_month == pytest.approx(1000) and own.provenance == "declared"
    changed = parse_mix({"preset": "chat", "output_tokens": 500})
    assert changed.output_tokens == 500 and changed.provenance == "declared" and changed.input_tokens == 1155
    assert parse_mix("load").from_load and parse_mix("summarization").name == "summarization"
    assert parse_mix({"input_tokens": 0, "output_tokens": 256}).prefill_tokens == 0


SUITE_CASES = {
    "unknown_preset": ("name: s\nmix: {preset: rga}\nworkloads:" + GOOD_WORKLOAD, 2, "mix.preset",
                       "did you mean `rag`?"),
    "bad_fraction": ("name: s\nmix:\n  input_tokens: 100\n  output_tokens: 10\n  cached_fraction: 1.5\nworkloads:"
                     + GOOD_WORKLOAD, 5, "mix.cached_fraction", "must be in [0, 1]"),
    "missing_output": ("name: s\nmix:\n  input_tokens: 100\nworkloads:" + GOOD_WORKLOAD, 3, "mix.output_tokens",
                       "missing `output_tokens`"),
    "two_volumes": ("name: s\nmix:\n  preset: chat\n  requests_per_day: 10\n  tokens_per_month: 5\nworkloads:"
                    + GOOD_WORKLOAD, 5, "mix.tokens_per_month", "not both"),
    "negative": ("name: s\nmix: {input_tokens: -1, output_tokens: 5}\nworkloads:" + GOOD_WORKLOAD, 2,
                 "mix.input_tokens", "0 or more"),
    "unknown_key": ("name: s\nmix:\n  preset: chat\n  request_per_day: 3\nworkloads:" + GOOD_WORKLOAD, 4,
                    "mix.request_per_day", "did you mean `requests_per_day`?"),
    "api_models": ("name: s\napi_models: [gpt-4o-mini, 3]\nworkloads:" + GOOD_WORKLOAD, 2, "api_models[1]",
                   "must be a model name"),
}


@pytest.mark.parametrize("case", sorted(SUITE_CASES))
def test_malformed_mix_is_one_line(case, write, cli):
    text, line, field, words = SUITE_CASES[case]
    path = write(f"{case}.yaml", text)
    code, out, err = cli("run", path, "--dry-run")
    assert code == 2 and out == ""
    _assert_one_line(err, path, line, field, words)


PROFILE_CASES = {
    "tou_gap": ("name: m\nelectricity_tou:\n  - {days: weekdays, per_kwh: 0.3}\n", 3, "electricity_tou",
                "Saturday 00:00 has no price"),
    "tou_hours": ("name: m\nelectricity_per_kwh: 0.2\nelectricity_tou:\n  - {hours: 7-2x, per_kwh: 0.3}\n", 4,
                  "electricity_tou[0].hours", "cannot read hours"),
    "tou_day": ("name: m\nelectricity_per_kwh: 0.2\nelectricity_tou:\n  - {days: [mon, funday], per_kwh: 0.3}\n",
                4, "electricity_tou[0].days", "unknown day `funday`"),
    "tou_price": ("name: m\nelectricity_per_kwh: 0.2\nelectricity_tou:\n  - {hours: 0-7, per_kwh: cheap}\n", 4,
                  "electricity_tou[0].per_kwh", "must be a number"),
    "tou_key": ("name: m\nelectricity_per_kwh: 0.2\nelectricity_tou:\n  - {hour: 0-7, per_kwh: 0.1}\n", 4,
                "electricity_tou[0].hour", "did you mean `hours`?"),
    "rate": ("name: m\ncurrency: EUR\nexchange_rates: {USD: 0}\n", 3, "exchange_rates.USD", "must be a number > 0"),
    "rate_code": ("name: m\nexchange_rates: {dollars: 1.1}\n", 2, "exchange_rates.dollars", "currency code"),
    "no_work": ("name: m\nwork_hours: []\n", None, "work_hours", ""),
}


@pytest.mark.parametrize("case", sorted(PROFILE_CASES))
def test_malformed_schedule_is_one_line(case, write, cli):
    text, line, field, words = PROFILE_CASES[case]
    suite = write("suite.yaml", "name: s\nworkloads:" + GOOD_WORKLOAD)
    profile = write(f"{case}.yaml", text)
    code, _out, err = cli("run", suite, "--machine", profile, "--dry-run")
    if case == "no_work":     # an empty list is no schedule: around the clock
        assert code == 0, err
        return
    assert code == 2
    _assert_one_line(err, profile, line, field, words)


def test_profile_and_suite_keep_mix_schedule_and_rates(write):
    profile = load_profile(write("m.yaml", """
        name: m
        currency: EUR
        electricity_per_kwh: 0.25
        electricity_tou:
          - {days: weekdays, hours: "7-23", per_kwh: 0.32}
          - {hours: "23-7", per_kwh: 0.12}
        work_hours:
          - {days: mon-fri, hours: "9-17"}
        exchange_rates: {USD: 0.92}
        mix: {preset: rag, requests_per_day: 500}
        api_models: [gpt-4o-mini]
        """))
    rec = profile.to_record()
    assert rec["exchange_rates"] == {"USD": 0.92} and rec["mix"] == {"preset": "rag", "requests_per_day": 500}
    sched = tariff.schedule(rec)
    # Monday: 0-7 at 0.12, 7-23 at 0.32, 23 at 0.12; Saturday: 7-23 at the flat 0.25, the night at 0.12
    assert sched.prices[:24] == tuple([0.12] * 7 + [0.32] * 16 + [0.12])
    assert sched.prices[5 * 24:6 * 24] == tuple([0.12] * 7 + [0.25] * 16 + [0.12])
    assert sum(sched.work) == 40 and sched.work_share == pytest.approx(40 / 168)
    suite = load_suite(write("s.yaml", "name: s\nmix: coding-agent\napi_models: [gpt-4.1]\nworkloads:"
                             + GOOD_WORKLOAD))
    assert suite.to_record()["mix"] == "coding-agent" and suite.to_record()["api_models"] == ["gpt-4.1"]


def test_days_and_hours_forms():
    assert tariff.schedule({"work_hours": [{"days": "fri-mon", "hours": "22-2"}]}).work_share == \
        pytest.approx(4 * 4 / 168)
    assert sum(tariff.schedule({"work_hours": [{"days": ["sat", "sun"], "hours": [9, 10, 11]}]}).work) == 6
    with pytest.raises(Exception, match=re.escape("work_hours: covers no hour")):
        tariff.schedule({"work_hours": [{"hours": [5], "days": []}]})
