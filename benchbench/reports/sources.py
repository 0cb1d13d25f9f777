"""The articles behind the published reference figures: title, address and a short tag for labels.

The file names are those in benchbench/reference/published-figures.yaml (`source:` keys).
"""

from __future__ import annotations

from .model import Source

_BASE = "https://tinycomputers.io/posts/"
ARTICLES: dict[str, tuple[str, str, str | None]] = {
    # file → (short tag, title, address)
    "the-economics-of-owning-your-own-inference.md": (
        "economics", "The Economics of Owning Your Own Inference",
        _BASE + "the-economics-of-owning-your-own-inference.html"),
    "repurposing-enterprise-gpus-the-tesla-p40-home-lab-story.md": (
        "P40 home lab", "Repurposing Enterprise GPUs: The Tesla P40 Home Lab Story",
        _BASE + "repurposing-enterprise-gpus-the-tesla-p40-home-lab-story.html"),
    "the-real-cost-of-running-qwen-tts-locally.md": (
        "Qwen TTS", "The Real Cost of Running Qwen TTS Locally: Three Machines Compared",
        _BASE + "the-real-cost-of-running-qwen-tts-locally-three-machines-compared.html"),
    "running-ltx-video-on-four-tesla-p40s.md": (
        "LTX on 4× P40", "Running a 22B Video Model on Four Tesla P40s",
        _BASE + "running-ltx-video-on-four-tesla-p40s.html"),
    "distilled-reasoning-on-strix-halo.md": (
        "Strix Halo reasoning", "Distilled Reasoning on Strix Halo: Running a Claude-Trained Thinking Model Locally",
        _BASE + "distilled-reasoning-on-strix-halo-qwen35-claude-thinking.html"),
    "hn-thread-gemma4-on-old-xeon.txt": (
        "HN Xeon thread", "Hacker News thread: Gemma 4 26B on an old Xeon E5-2620 v4 without a GPU", None),
}


def tag(file: str | None) -> str:
    """A short name for labels ("economics"); the file name when unknown."""
    if not file:
        return ""
    return ARTICLES.get(file, (file,))[0]


def source(file: str) -> Source:
    short, title, url = ARTICLES.get(file, (file, file, None))
    return Source(file=file, title=title, url=url)


def series_label(machine: str, provenance: str | None, source_file: str | None) -> str:
    """How a machine's data is named in legends: `p40-server`, `p40-server (published: economics)`."""
    if provenance == "published":
        return f"{machine} (published: {tag(source_file)})"
    return str(machine)


def short_label(machine: str, workload: str, published: bool) -> str:
    """`machine · workload`, `(published)` appended for reference data (the color says which article)."""
    return f"{machine} · {workload}" + (" (published)" if published else "")
