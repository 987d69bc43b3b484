"""`crm report maturity`: the maturity report (application/maturity.py) as a text table, and as a one-page HTML
report a manager opens in a browser, its charts (the level per department, the weekly trend of the levels, the
gaps) drawn by matplotlib into inline SVG: no script, no CDN, nothing fetched when it is opened."""
from __future__ import annotations

import html
import io
from typing import Iterable

from application.maturity import DepartmentReport, MaturityReport
from domain.maturity import COUNT, LEVELS, SHARE, Figure, Gap

LEVEL_NAMES = [level.value.title() for level in LEVELS]


def shown(figure: Figure) -> str:
    """A figure's value for people: a share in per cent, '-' without a value, '*' after one failing its threshold."""
    if figure.value is None:
        return "-"
    text = f"{round(figure.value * 100):g} %" if figure.unit == SHARE else f"{figure.value:g}"
    return text + ("*" if figure.meets is False else "")


def table(report: MaturityReport) -> str:
    """One row per figure, one column per department; its level; then the gaps, the company's last."""
    departments = report.departments
    first = departments[0].period.figures if departments else []
    rows = [["figure", *(r.department.code for r in departments)]]
    rows += [[f.key, *(shown(r.period.figures[i]) for r in departments)] for i, f in enumerate(first)]
    rows.append(["LEVEL", *(r.period.level.value for r in departments)])
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = [f"Maturity {report.start.isoformat()} .. {report.end.isoformat()}   company: {report.company.value}", ""]
    lines += ["  ".join(cell.ljust(w) if i == 0 else cell.rjust(w) for i, (cell, w) in enumerate(zip(row, widths)))
              for row in rows]
    lines += ["", "* fails its threshold", ""]
    for r in departments:
        lines += [f"{r.department.code} ({r.period.level.value}):", *_gap_lines(r.period.gaps[:3])]
    lines += ["Company:", *_gap_lines(report.company_gaps)]
    return "\n".join(lines) + "\n"


def _gap_lines(gaps: Iterable[Gap]) -> list[str]:
    return [f"  - {g.message}" for g in gaps] or ["  (none)"]


def _svg(figure: object) -> str:
    out = io.StringIO()
    figure.savefig(out, format="svg", bbox_inches="tight",  # type: ignore[attr-defined]
                   metadata={"Creator": None, "Date": None, "Format": None, "Type": None})  # no RDF block
    text = out.getvalue()
    return text[text.index("<svg"):]  # inline: without the XML prolog and doctype


def _charts(report: MaturityReport) -> list[tuple[str, str]]:
    import matplotlib

    matplotlib.use("Agg")  # no display; SVG text stays text, so the page shows the numbers it charts
    matplotlib.rcParams["svg.fonttype"] = "none"
    from matplotlib import pyplot as plt

    charts = []
    codes = [r.department.code for r in report.departments]
    fig, ax = plt.subplots(figsize=(7, 0.5 + 0.45 * max(len(codes), 1)))
    ax.barh(codes, [LEVELS.index(r.period.level) + 1 for r in report.departments], color="#3b7dd8")
    ax.set_xlim(0, len(LEVELS))
    ax.set_xticks(range(1, len(LEVELS) + 1), LEVEL_NAMES)
    ax.invert_yaxis()
    ax.set_title("Level per department")
    charts.append(("levels", _svg(fig)))
    plt.close(fig)

    fig, ax = plt.subplots(figsize=(7, 3.5))
    for r in report.departments:
        ax.plot([start.isoformat() for start, _ in r.weeks], [LEVELS.index(w.level) + 1 for _, w in r.weeks],
                marker="o", label=r.department.code)
    ax.set_yticks(range(1, len(LEVELS) + 1), LEVEL_NAMES)
    ax.set_ylim(0.5, len(LEVELS) + 0.5)
    ax.set_title("Level per week")
    ax.tick_params(axis="x", labelrotation=45)
    if report.departments:
        ax.legend(fontsize="small")
    charts.append(("trend", _svg(fig)))
    plt.close(fig)

    gaps = [(f"{r.department.code}: {g.figure}", g.shortfall) for r in report.departments for g in r.period.gaps[:3]]
    fig, ax = plt.subplots(figsize=(7, 0.5 + 0.35 * max(len(gaps), 1)))
    ax.barh([label for label, _ in gaps], [round(s * 100) for _, s in gaps], color="#d8643b")
    ax.set_xlim(0, 100)
    ax.invert_yaxis()
    ax.set_xlabel("% short of the threshold")
    ax.set_title("The biggest gaps")
    charts.append(("gaps", _svg(fig)))
    plt.close(fig)
    return charts


def _department_table(r: DepartmentReport) -> str:
    cells = "".join(f"<tr><td>{html.escape(f.label)}</td><td><code>{f.key}</code></td>"
                    f"<td class='value' data-key='{f.key}'>{html.escape(shown(f))}</td>"
                    f"<td>{'' if f.threshold is None else f'{f.threshold:g}'}</td></tr>"
                    for f in r.period.figures if f.unit != COUNT or f.threshold is not None)
    gaps = "".join(f"<li>{html.escape(g.message)}</li>" for g in r.period.gaps[:3]) or "<li>none</li>"
    return (f"<section class='department' data-code='{html.escape(r.department.code)}'>"
            f"<h3>{html.escape(r.department.name)} ({html.escape(r.department.code)}): "
            f"<span class='level'>{r.period.level.value}</span></h3><ul class='gaps'>{gaps}</ul>"
            f"<table><tr><th>figure</th><th>key</th><th>value</th><th>threshold</th></tr>{cells}</table></section>")


def html_page(report: MaturityReport) -> str:
    charts = "".join(f"<figure id='chart-{name}'>{svg}</figure>" for name, svg in _charts(report))
    company_gaps = "".join(f"<li>{html.escape(g.message)}</li>" for g in report.company_gaps) or "<li>none</li>"
    departments = "".join(_department_table(r) for r in report.departments)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>CRM maturity report</title>
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<style>body{{font-family:sans-serif;margin:2em;max-width:60em}} table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:2px 6px}} td.value{{text-align:right}} figure{{margin:1em 0}}</style></head>
<body><h1>CRM maturity</h1>
<p>{html.escape(report.start.isoformat())} to {html.escape(report.end.isoformat())}.
The company: <strong id="company-level">{report.company.value}</strong></p>
<h2>What holds the company back</h2><ul id="company-gaps">{company_gaps}</ul>
{charts}
<h2>Departments</h2>{departments}
<p>* fails its threshold; - not measured in the period.</p>
</body></html>
"""
