"""The one table all figures print, and `bench/results/latest.json`."""

from __future__ import annotations

import json
import os
import platform
from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console
from rich.table import Table

from bench.stats import Row

RESULTS_DIR = Path(__file__).resolve().parent / "results"


def machine() -> str:
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = ""
    try:
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        mem = f", {kb / 1024 / 1024:.1f} GiB RAM"
    except (OSError, ValueError, IndexError):
        pass
    system = f"{platform.system()} {platform.release()}, Python {platform.python_version()}"
    return f"{os.cpu_count()} cores {cpu}{mem}, {system}"


def print_table(rows: list[Row], console: Console, title: str) -> None:
    # Wide enough for the whole table even when stdout is not a terminal (logs, CI).
    console = Console(width=max(console.width, 220), file=console.file)
    table = Table(title=title, show_lines=False)
    for col in ("figure", "metric", "value", "anchor (same run)", "ratio", "target", "result"):
        table.add_column(col, overflow="fold")
    for r in rows:
        colour = {"pass": "green", "short": "red"}.get(r.verdict, "")
        verdict = f"[{colour}]{r.verdict}[/{colour}]" if colour else r.verdict
        table.add_row(r.figure, r.metric, r.value, r.anchor, r.ratio, r.target, verdict)
    console.print(table)


def write_json(rows: list[Row], mode: str, name: str = "latest.json", notes: list[str] | None = None) -> Path:
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / name
    data = {
        "generated_at": datetime.now(UTC).isoformat(),
        "mode": mode,
        "machine": machine(),
        "load_average_at_end": os.getloadavg(),
        "notes": notes or [],
        "rows": [r.model_dump() for r in rows],
    }
    path.write_text(json.dumps(data, indent=2, default=str) + "\n")
    return path


def write_markdown(rows: list[Row], title: str, notes: list[str], name: str = "latest.md") -> Path:
    """The same table as Markdown, for the README's Performance section."""
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)

    def cell(text: str) -> str:
        return text.replace("|", "\\|").replace("\n", " ")

    lines = [f"**{title}**", ""]
    lines += [f"- {n}" for n in notes]
    lines += [
        "",
        "| figure | metric | value | anchor (same run) | ratio | target | result |",
        "|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            "| "
            + " | ".join(cell(x) for x in (r.figure, r.metric, r.value, r.anchor, r.ratio, r.target, r.verdict))
            + " |"
        )
    path = RESULTS_DIR / name
    path.write_text("\n".join(lines) + "\n")
    return path
