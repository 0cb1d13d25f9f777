"""Realized economics from a ledger whose contents are known: utilization, idle power, the serving /
idle split, electricity, amortization, realized $/M and the API price of the same requests, worked by
hand from the definitions in docs/ledger.md; and the CLI around it (report, ledger info)."""

from __future__ import annotations

import datetime as dt
import json

import pytest

from benchbench.ledger.store import Ledger, Tick, WorkRow
from benchbench.ledger.usage import machine_usage

DAY1 = dt.datetime(2025, 3, 1, tzinfo=dt.UTC).timestamp()
DAY2 = dt.datetime(2025, 3, 2, tzinfo=dt.UTC).timestamp()
PROFILE = {"name": "p40", "electricity_per_kwh": 0.2, "currency": "USD", "hardware_cost": 2400.0,
           "amortization_years": 2.0, "idle_w": 999.0}
BUSY = {10, 11, 30}                       # day 1: intervals serving for 30 s each at 300 W (100 W idle)


def write_ledger(path, machine="p40", profile=PROFILE):
    """Day 1: 60 one-minute intervals, three of them half busy; day 2: 30 idle minutes."""
    led = Ledger(path)
    led.start_session(f"u-{machine}", machine, "host", "boot", 1, DAY1, 60.0, "0.1.0",
                      {"roles": ["power", "proxy@x"], "profile": profile,
                       "sources": {"proxy@x": {"kind": "proxy", "busy_basis": "in-flight"}}})
    ticks = []
    for k in range(60):
        t = Tick(k, DAY1 + 60 * k, 60.0)
        busy = k in BUSY
        t.energy = [("gpu0", 1.0, "counter"), ("system", 300 * 30 + 100 * 30 if busy else 100 * 60.0, "counter")]
        if busy:
            t.work = [WorkRow("proxy@x", "llama", 2, 1000, 200, 500, 30.0)]
        ticks.append(t)
    for k in range(30):
        ticks.append(Tick(60 + k, DAY2 + 60 * k, 60.0, energy=[("system", 100 * 60.0, "counter")]))
    ticks[5].events.append((DAY1 + 300, "counter_reset", "the server restarted"))
    led.write(ticks)
    led.close()
    return path


def test_usage_per_day_follows_the_definitions(tmp_path):
    write_ledger(tmp_path / "l.db")
    from benchbench.ledger.usage import read, summarize

    day1, day2 = summarize(read([tmp_path]), "day")
    assert (day1.period, day2.period) == ("2025-03-01", "2025-03-02")
    assert day1.covered_s == 3600 and day1.busy_s == 90 and day1.utilization == pytest.approx(90 / 3600)
    assert day1.idle_w == pytest.approx(100.0) and day1.idle_w_source.startswith("measured")
    assert day1.energy_j == pytest.approx(57 * 6000 + 3 * 12000)
    assert day1.idle_energy_j == pytest.approx(100 * (3600 - 90))
    assert day1.serving_energy_j == pytest.approx(day1.energy_j - 100 * 3510)
    mix = day1.mix
    assert (mix.requests, mix.input_tokens, mix.cached_tokens, mix.output_tokens) == (6, 3000, 600, 1500)
    assert mix.cached_fraction == pytest.approx(0.2)
    assert day2.utilization == 0 and day2.energy_j == pytest.approx(30 * 6000) and day2.mix.output_tokens == 0


def test_realized_cost_and_the_api_price_of_the_same_requests(tmp_path):
    from genai_prices import Usage, calc_price

    from benchbench.ledger.economics import economics
    from benchbench.ledger.usage import read, summarize

    write_ledger(tmp_path / "l.db")
    day1 = summarize(read([tmp_path]), "day")[0]
    row = economics(day1, PROFILE, ["gpt-4o-mini"])
    kwh = (57 * 6000 + 3 * 12000) / 3.6e6
    assert row["energy_kwh"] == pytest.approx(kwh) and row["electricity_cost"] == pytest.approx(kwh * 0.2)
    assert row["idle_electricity_cost"] == pytest.approx(100 * 3510 / 3.6e6 * 0.2)
    amort = 2400 / (2 * 8760) * 1.0
    assert row["amortization_cost"] == pytest.approx(amort)
    assert row["realized_all_in_per_mtok"] == pytest.approx((kwh * 0.2 + amort) / 1500e-6)
    assert row["realized_electricity_per_mtok"] == pytest.approx(kwh * 0.2 / 1500e-6)
    expected = float(calc_price(Usage(input_tokens=3000, cache_read_tokens=600, output_tokens=1500),
                                "gpt-4o-mini").total_price)
    assert row["api:gpt-4o-mini"] == pytest.approx(expected)
    assert row["realized_utilization_pct"] == pytest.approx(2.5)


def test_every_usage_figure_is_a_registered_period_metric_with_its_label_and_unit(tmp_path):
    import re

    from benchbench import metrics
    from benchbench.reports.build import build_report

    write_ledger(tmp_path / "l.db")
    report = build_report([], reference=False, ledgers=[tmp_path], api_models=["gpt-4o-mini"])
    tables = {t.name: t for t in report.tables() if t.name.startswith("usage_")}
    assert set(tables) == {"usage_periods", "usage_models", "usage_events"}
    shown = set()
    for t in tables.values():
        for col in t.columns:
            m = metrics.lookup(col.key)
            if m is None:
                assert col.kind == "text" or col.key.startswith("api:"), (t.name, col.key)
                continue
            shown.add(col.key)
            assert m.scope == "period" and col.header == m.label, (t.name, col.key)
            assert re.fullmatch(re.escape(m.shown_unit).replace(r"\{cur\}", "USD"), col.unit), (t.name, col.key)
        for row in t.rows:                       # every figure a row carries is registered, not only those shown
            figures = [k for k, v in row.items() if isinstance(v, (int, float)) and not k.startswith("api")]
            assert metrics.unknown(figures) == [], (t.name, metrics.unknown(figures))
    api = [c for c in tables["usage_periods"].columns if c.key == "api:gpt-4o-mini"][0]
    assert (api.header, api.unit) == ("at gpt-4o-mini", metrics.get("api_cost").unit)
    assert {"realized_all_in_per_mtok", "realized_utilization_pct", "electricity_cost", "served_output_tokens"} <= shown


def test_few_idle_intervals_fall_back_to_the_profile_idle_power(tmp_path):
    led = Ledger(tmp_path / "l.db")
    led.start_session("u", "box", "h", "b", 1, DAY1, 60, "v", {"roles": ["power"], "profile": {"idle_w": 42.0}})
    led.write([Tick(k, DAY1 + 60 * k, 60.0, energy=[("system", 6000.0, "counter")]) for k in range(3)])
    led.close()
    u = machine_usage([tmp_path])["box"]
    assert u.idle_w == 42.0 and u.idle_w_source == "declared (profile idle_w)"


def test_machine_usage_is_the_function_the_verdict_uses(tmp_path):
    write_ledger(tmp_path / "a.db", "p40")
    write_ledger(tmp_path / "b.db", "strix", {**PROFILE, "name": "strix"})
    write_ledger(tmp_path / "a-copy.db", "p40")                     # the same sessions twice: counted once
    both = machine_usage([tmp_path])
    assert set(both) == {"p40", "strix"}
    p40 = both["p40"]
    assert p40.covered_s == 5400 and p40.utilization == pytest.approx(90 / 5400)
    assert p40.mix.output_tokens == 1500 and p40.models[("proxy@x", "llama")].input_tokens == 3000
    one_day = machine_usage([tmp_path], machine="p40", start=DAY2)
    assert one_day["p40"].covered_s == 1800 and one_day["p40"].mix.output_tokens == 0


def test_report_cli_text_and_every_format(tmp_path, cli):
    ledger = write_ledger(tmp_path / "l.db")
    code, out, err = cli("report", ledger, "--api", "gpt-4o-mini")
    assert code == 0, err
    assert "usage per day (UTC) from 1 ledger(s)" in out and "2025-03-01" in out and "2025-03-02" in out
    assert "at gpt-4o-mini" in out and "realized all-in" in out and "USD/Mtok" in out
    code, out, err = cli("report", ledger, "--period", "month", "--format", "json", "--no-reference")
    assert code == 0, err
    doc = json.loads(out)
    (month,) = doc["report_tables"]["usage_periods"]
    assert month["period"] == "2025-03" and month["covered_h"] == pytest.approx(1.5)
    assert month["energy_kwh"] == pytest.approx((57 * 6000 + 3 * 12000 + 30 * 6000) / 3.6e6)
    assert doc["report_tables"]["usage_models"][0]["served_output_tokens"] == 1500
    assert doc["report_tables"]["usage_events"][0]["kind"] == "counter_reset"
    for ext in ("html", "md", "csv"):
        code, _, err = cli("report", tmp_path, "-o", tmp_path / f"r.{ext}", "--no-reference", "--since",
                           "2025-03-02")
        assert code == 0, err
    md = (tmp_path / "r.md").read_text()
    assert "Usage: what the machines actually served" in md and "2025-03-02" in md and "2025-03-01" not in md
    assert (tmp_path / "r_usage_periods.csv").read_text().count("\n") == 2     # header + day 2
    assert not list(tmp_path.glob("l.db-*"))                    # reading leaves no WAL files behind
    code, _, err = cli("report", ledger, "--since", "March")
    assert code == 2 and "not a date" in err and err.count("\n") == 1


def test_ledger_info_lists_sessions_and_events(tmp_path, cli):
    ledger = write_ledger(tmp_path / "l.db")
    code, out, _ = cli("ledger", "info", ledger)
    assert code == 0 and "session u-p40" in out and "90 interval(s)" in out and "counter_reset" in out
    code, out, _ = cli("ledger", "info", ledger, "--json")
    info = json.loads(out)
    assert info["schema_version"] == 1 and info["sessions"][0]["intervals"] == 90
    code, _, err = cli("ledger", "info", tmp_path / "nothing.db")
    assert code == 2 and "no such ledger" in err
    code, out, err = cli("ledger", "merge", ledger, "--into", tmp_path / "home.db")
    assert code == 0 and "90 interval(s)" in err
    code, out, _ = cli("ledger", "snapshot", tmp_path / "snap.db", "--ledger", ledger)
    assert code == 0 and (tmp_path / "snap.db").exists()
