"""Provenance labels, one map for the whole project: how direct a figure is, and what a figure derived from
several inputs is labelled (docs/analysis.md "Provenance")."""

from __future__ import annotations

from typing import Any

PROVENANCES = ("measured", "imported", "estimated", "declared", "published")
RANK = {name: i for i, name in enumerate(PROVENANCES)}
# an energy entry's `source` → its label
SOURCE_PROVENANCE = {"counter": "measured", "integrated": "measured", "measured": "measured", "imported": "imported",
                     "estimated": "estimated", "declared": "declared", "published": "published"}
# the `system` channel's `basis` → its label (power/system.py applies the rule)
BASIS_PROVENANCE = {"wall": "measured", "gpu+cpu+overhead": "estimated", "gpu+overhead": "estimated",
                    "declared": "declared", "published": "published"}


def worst(*labels: str | None) -> str | None:
    """The least direct of some labels (measured < imported < estimated < declared < published)."""
    known = [x for x in labels if x in RANK]
    return max(known, key=RANK.__getitem__) if known else None


def derived(*labels: str | None) -> str | None:
    """The label of a figure computed from inputs with these labels: published if any input is,
    else estimated if any input is estimated or declared, else imported if any input came from another tool
    (`benchbench import`), else measured."""
    known = [x for x in labels if x in RANK]
    if not known:
        return None
    if "published" in known:
        return "published"
    if any(x in ("estimated", "declared") for x in known):
        return "estimated"
    return "imported" if "imported" in known else "measured"


def channel_provenance(source: str | None, basis: str | None = None) -> str | None:
    """measured / imported / estimated / declared / published for one energy entry (its basis wins over its
    source)."""
    if basis in BASIS_PROVENANCE:
        return BASIS_PROVENANCE[basis]
    return SOURCE_PROVENANCE.get(source) if source else None


def of_entry(entry: Any) -> str | None:
    """channel_provenance of a dict or EnergyEntry."""
    get = entry.get if isinstance(entry, dict) else lambda k: getattr(entry, k, None)
    return channel_provenance(get("source"), get("basis"))
