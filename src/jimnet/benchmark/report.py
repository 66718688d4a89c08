"""Write a benchmark's tables (markdown + CSV), plots (PNG) and raw results (JSON).

Files (``out/``)::

    README.md                          header, both summary tables, timings, file list
    alignment_S1_5LQW.{md,csv} …       tables S1–S5: one per structure, rows = methods
    alignment_S5_5MPA.{md,csv}
    clustering_S6_5LQW.{md,csv} …      tables S6–S10
    clustering_S10_5MPA.{md,csv}
    alignment_summary.{md,csv}         5-structure averages (pooled std)
    clustering_summary.{md,csv}        5-structure averages
    alignment_vs_snr.png               rotation and translation error vs SNR, ours and paper
    clustering_vs_snr.png              accuracy vs SNR, ours and paper
    results.json                       metadata, per-pair errors, per-class accuracies, timings

Every file starts with the same header: command, seed, scale, sizes, wall time, device, jimnet
version (markdown: a bullet list; CSV: ``# key: value`` lines, read with
``pandas.read_csv(path, comment="#")``; PNG: text chunks and a caption). In markdown tables
each SNR has an "ours" column with the paper's value beside it; rotation errors are
``‖R_true − R_pred‖_F`` (dimensionless, 0 … 2√2), translation errors voxels, accuracies %.
"""

from __future__ import annotations

import csv
import io
import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

from jimnet.benchmark import paper
from jimnet.benchmark.paper import STRUCTURES, AlignmentCell, PaperStructure
from jimnet.benchmark.protocols import ClusterScores, PairErrors
from jimnet.benchmark.results import (
    ALIGNMENT_ROWS,
    CLUSTERING_ROWS,
    BenchmarkResults,
    Row,
    Unavailable,
)

__all__ = ["header_items", "write_report"]

UNITS = ("Rotation error: ‖R_true − R_pred‖_F (dimensionless, 0 … 2√2; ≈ 2.40 for random "
         "rotations). Translation error: ‖round(t_true) − round(t_pred)‖₂ in voxels. Cells: "
         "mean±std over same-class pairs, \"rotation, translation\".")
CLUSTER_UNITS = ("Accuracy in %: fraction of the structure's subtomograms in the cluster matched "
                 "to it by the global Hungarian assignment (summary: mean over the structures; "
                 "chance 20%).")
PAPER_NOTE = ("Paper columns: " + paper.SOURCE + "; 5-structure averages derived from them as in "
              "METHOD.md §9 (mean over structures, pooled std). Structures are the paper's PDB "
              "IDs; jimnet simulates stand-ins (5LQW→3jb9, 1I6V→1qvr, 6A5L→4v4r_30S, "
              "5T2C→6qzp, 5MPA→4cr2), so the numbers compare protocols, not identical data.")
MCP_NOTE = ("The paper's single \"Jim-Net (cluster)\" number is printed beside both readings "
            "(METHOD.md §6.3): (a) the clustering-only ablation, (b) the cluster head's argmax "
            "of the full model; \"Jim-Net\" is the GMM on the full model's features.")


# ------------------------------------------------------------------------ header


def _sizes_text(meta: dict[str, Any]) -> str:
    s = meta.get("sizes", {})
    parts = [f"{s.get('n_per_class')} particles/class simulated",
             f"{s.get('pairs_per_class')} pairs/class",
             f"epochs {s.get('epochs')} at SNR 100 + {s.get('finetune_epochs')} fine-tuning "
             f"per other SNR", f"clustering baselines {s.get('cluster_epochs')} epochs",
             f"width {s.get('width')}", f"batch {s.get('batch_size')}"]
    sets = meta.get("datasets", {})
    if sets:
        parts.append("datasets: " + ", ".join(f"SNR {k}: {v['n_particles']} particles"
                                              for k, v in sets.items()))
    return "; ".join(parts)


def header_items(meta: dict[str, Any]) -> list[tuple[str, str]]:
    """``(key, value)`` pairs recorded at the top of every output file."""
    wall = meta.get("wall_time_s")
    return [
        ("command", str(meta.get("command") or "(library call)")),
        ("seed", str(meta.get("seed"))),
        ("scale", str(meta.get("scale"))),
        ("sizes", _sizes_text(meta)),
        ("wall time", "–" if wall is None else f"{wall:.0f} s ({wall / 60:.1f} min)"),
        ("device", str(meta.get("device"))),
        ("jimnet version", f"{meta.get('jimnet_version')} (torch {meta.get('torch_version')})"),
        ("started (UTC)", str(meta.get("started_utc"))),
        ("data", str(meta.get("data"))),
    ]


def _md_header(title: str, meta: dict[str, Any]) -> list[str]:
    return [f"# {title}", "", *[f"- {k}: {v}" for k, v in header_items(meta)], ""]


def _csv_text(meta: dict[str, Any], title: str, columns: Sequence[str],
              rows: Sequence[Sequence[Any]]) -> str:
    buf = io.StringIO()
    buf.write(f"# {title}\n")
    for k, v in header_items(meta):
        buf.write(f"# {k}: {v}\n")
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows([["" if v is None or (isinstance(v, float) and math.isnan(v)) else v
                       for v in row] for row in rows])
    return buf.getvalue()


# ------------------------------------------------------------------------ cells


def _pm(mean: float, std: float) -> str:
    return f"{mean:.2f}±{std:.2f}"


def _align_cell(cell: AlignmentCell | None) -> str:
    if cell is None or math.isnan(cell.rot_mean):
        return "–"
    return f"{_pm(cell.rot_mean, cell.rot_std)}, {_pm(cell.trans_mean, cell.trans_std)}"


def _acc_cell(value: float | None) -> str:
    return "–" if value is None or math.isnan(value) else f"{value:.1f}"


def _ours_alignment(entry: PairErrors | Unavailable | None, structure: PaperStructure | None
                    ) -> tuple[AlignmentCell | None, int]:
    """Our cell for one structure (``None``: all structures, pooled) and its pair count."""
    if not isinstance(entry, PairErrors):
        return None, 0
    if structure is not None:
        r, rs, t, ts, n = entry.select(structure.class_number).stats()
        return AlignmentCell(r, rs, t, ts), n
    stats = [entry.select(s.class_number).stats() for s in STRUCTURES]
    stats = [st for st in stats if st[4] > 0]
    if not stats:
        return None, 0
    rot = paper.pooled_mean_std([st[0] for st in stats], [st[1] for st in stats])
    trans = paper.pooled_mean_std([st[2] for st in stats], [st[3] for st in stats])
    return AlignmentCell(rot[0], rot[1], trans[0], trans[1]), sum(st[4] for st in stats)


def _ours_accuracy(entry: ClusterScores | Unavailable | None,
                   structure: PaperStructure | None) -> float | None:
    if not isinstance(entry, ClusterScores):
        return None
    if structure is not None:
        return float(entry.per_class[structure.class_number - 1])
    values = entry.per_class[~np.isnan(entry.per_class)]
    return float(values.mean()) if values.size else None


def _paper_alignment(row: Row, structure: PaperStructure | None, snr: float
                     ) -> AlignmentCell | None:
    if row.paper is None:
        return None
    if structure is None:
        return paper.alignment_summary(row.paper, snr)
    return paper.alignment_cell(structure.paper_id, row.paper, snr)


def _paper_accuracy(row: Row, structure: PaperStructure | None, snr: float) -> float | None:
    if row.paper is None:
        return None
    if structure is None:
        return paper.clustering_summary(row.paper, snr)
    return paper.clustering_cell(structure.paper_id, row.paper, snr)


def _rows(results: BenchmarkResults, rows: Sequence[Row], table: dict) -> list[Row]:
    """Rows produced by a requested method (in table order)."""
    methods = set(results.meta.get("methods", []))
    return [r for r in rows if r.method in methods or r.key in table]


def _notes(results: BenchmarkResults, rows: Sequence[Row], table: dict) -> list[str]:
    notes = []
    for row in rows:
        for snr, entry in table.get(row.key, {}).items():
            if isinstance(entry, Unavailable):
                notes.append(f"- {row.label}, SNR {snr:g}: {entry.reason}")
    return notes


def _snr_columns(snrs: Sequence[float]) -> list[str]:
    return [c for snr in snrs for c in (f"SNR {snr:g} ours", f"SNR {snr:g} paper")]


def _md_table(columns: Sequence[str], body: Sequence[Sequence[str]]) -> list[str]:
    return ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns),
            *["| " + " | ".join(r) + " |" for r in body]]


# ------------------------------------------------------------------------ tables


def _alignment_title(structure: PaperStructure | None) -> str:
    if structure is None:
        return "Alignment accuracy, average of the 5 structures (summary of S1–S5)"
    return (f"Table {structure.alignment_table}: {structure.name} ({structure.paper_id}; "
            f"stand-in {structure.stand_in}, class {structure.class_number}) subtomogram "
            "alignment accuracy")


def _clustering_title(structure: PaperStructure | None) -> str:
    if structure is None:
        return "Clustering accuracy (%), average of the 5 structures (summary of S6–S10)"
    return (f"Table {structure.clustering_table}: {structure.name} ({structure.paper_id}; "
            f"stand-in {structure.stand_in}, class {structure.class_number}) subtomogram "
            "clustering accuracy (%)")


ALIGN_CSV = ("table", "structure", "stand_in", "class", "row", "label", "snr", "n_pairs",
             "rot_mean", "rot_std", "trans_mean", "trans_std", "paper_rot_mean",
             "paper_rot_std", "paper_trans_mean", "paper_trans_std", "status", "method_wall_s")
CLUSTER_CSV = ("table", "structure", "stand_in", "class", "row", "label", "snr", "accuracy",
               "paper_accuracy", "status", "method_wall_s")


def _status(entry: object) -> str:
    if entry is None:
        return "not run"
    return entry.reason if isinstance(entry, Unavailable) else "ok"


def _structure_cells(structure: PaperStructure | None, table: str | None) -> list:
    """CSV cells table, paper id, stand-in, class number (``"summary"``/``"all"`` for None)."""
    if structure is None:
        return ["summary", "all", "all", ""]
    return [table, structure.paper_id, structure.stand_in, structure.class_number]


def _wall(results: BenchmarkResults, row: Row, snr: float) -> float | None:
    value = results.timings.get(row.method, {}).get(snr)
    return None if value is None else round(value, 1)


def alignment_table(results: BenchmarkResults, structure: PaperStructure | None
                    ) -> tuple[str, str]:
    """Markdown and CSV text of one alignment table (``structure=None``: the summary)."""
    rows = _rows(results, ALIGNMENT_ROWS, results.alignment)
    body, records = [], []
    for row in rows:
        cells = [row.label]
        for snr in results.snrs:
            entry = results.alignment.get(row.key, {}).get(snr)
            ours, n = _ours_alignment(entry, structure)
            theirs = _paper_alignment(row, structure, snr)
            cells += ["n/a" if isinstance(entry, Unavailable) else _align_cell(ours),
                      _align_cell(theirs)]
            o = ours or AlignmentCell(*(4 * [float("nan")]))
            p = theirs or AlignmentCell(*(4 * [float("nan")]))
            records.append([
                *_structure_cells(structure, structure and structure.alignment_table),
                row.key, row.label, snr, n, o.rot_mean, o.rot_std, o.trans_mean, o.trans_std,
                p.rot_mean, p.rot_std, p.trans_mean, p.trans_std, _status(entry),
                _wall(results, row, snr)])
        body.append(cells)
    title = _alignment_title(structure)
    md = _md_header(title, results.meta) + _md_table(["Method", *_snr_columns(results.snrs)],
                                                     body)
    notes = _notes(results, rows, results.alignment)
    md += ["", UNITS, "", PAPER_NOTE, "", "Oracle: each particle aligned to its true noise-free "
           "template by exhaustive search; the floor any method can reach with that noise.",
           *(["", "Notes:", *notes] if notes else [])]
    return "\n".join(md) + "\n", _csv_text(results.meta, title, ALIGN_CSV, records)


def clustering_table(results: BenchmarkResults, structure: PaperStructure | None
                     ) -> tuple[str, str]:
    """Markdown and CSV text of one clustering table (``structure=None``: the summary)."""
    rows = _rows(results, CLUSTERING_ROWS, results.clustering)
    body, records = [], []
    for row in rows:
        cells = [row.label]
        for snr in results.snrs:
            entry = results.clustering.get(row.key, {}).get(snr)
            ours = _ours_accuracy(entry, structure)
            theirs = _paper_accuracy(row, structure, snr)
            cells += ["n/a" if isinstance(entry, Unavailable) else _acc_cell(ours),
                      _acc_cell(theirs)]
            records.append([
                *_structure_cells(structure, structure and structure.clustering_table),
                row.key, row.label, snr,
                None if ours is None else round(ours, 3), theirs, _status(entry),
                _wall(results, row, snr)])
        body.append(cells)
    title = _clustering_title(structure)
    md = _md_header(title, results.meta) + _md_table(["Method", *_snr_columns(results.snrs)],
                                                     body)
    notes = _notes(results, rows, results.clustering)
    md += ["", CLUSTER_UNITS, "", PAPER_NOTE, "", MCP_NOTE,
           *(["", "Notes:", *notes] if notes else [])]
    return "\n".join(md) + "\n", _csv_text(results.meta, title, CLUSTER_CSV, records)


# ------------------------------------------------------------------------ plots


def _png_metadata(meta: dict[str, Any], title: str) -> dict[str, str]:
    return {"Title": title, "Software": f"jimnet {meta.get('jimnet_version')}",
            "Description": "\n".join(f"{k}: {v}" for k, v in header_items(meta))}


def _caption(meta: dict[str, Any]) -> str:
    wall = meta.get("wall_time_s")
    return (f"jimnet {meta.get('jimnet_version')} · scale {meta.get('scale')} · seed "
            f"{meta.get('seed')} · {meta.get('device')} · wall "
            f"{'–' if wall is None else f'{wall:.0f} s'}")


def _save_png(fig: plt.Figure, path: Path, meta: dict[str, Any], title: str) -> None:
    fig.text(0.01, 0.005, _caption(meta), fontsize=6, color="0.3")
    fig.savefig(path, dpi=110, metadata=_png_metadata(meta, title))
    plt.close(fig)


def _series(results: BenchmarkResults, row: Row, value) -> tuple[list[float], list[float]]:
    xs, ys = [], []
    for snr in results.snrs:
        y = value(row, snr)
        if y is not None and not math.isnan(y):
            xs.append(snr)
            ys.append(y)
    return xs, ys


def _setup_snr_axis(ax: plt.Axes, snrs: Sequence[float]) -> None:
    ax.set_xscale("log")
    ax.set_xticks(list(snrs), [f"{s:g}" for s in snrs])
    ax.minorticks_off()
    if len(snrs) > 1:
        ax.set_xlim(max(snrs) * 1.5, min(snrs) / 1.5)  # high SNR on the left, as the tables
    ax.set_xlabel("SNR")
    ax.grid(alpha=0.3)


def plot_alignment(results: BenchmarkResults, path: Path) -> None:
    """Rotation and translation error vs SNR (5-structure averages), ours solid, paper dashed."""
    title = "Alignment error vs SNR (average of 5 structures)"
    fig, axes = plt.subplots(1, 2, figsize=(12.5, 4.2))
    rows = _rows(results, ALIGNMENT_ROWS, results.alignment)
    for i, row in enumerate(rows):
        color = f"C{i}"
        for ax, field in zip(axes, ("rot_mean", "trans_mean"), strict=True):
            def ours(r: Row, snr: float, field: str = field) -> float | None:
                cell = _ours_alignment(results.alignment.get(r.key, {}).get(snr), None)[0]
                return None if cell is None else getattr(cell, field)

            def theirs(r: Row, snr: float, field: str = field) -> float | None:
                cell = _paper_alignment(r, None, snr)
                return None if cell is None else getattr(cell, field)

            ax.plot(*_series(results, row, ours), "o-", color=color, label=f"{row.label}")
            xs, ys = _series(results, row, theirs)
            if xs:
                ax.plot(xs, ys, "s--", color=color, alpha=0.6, label=f"{row.label} (paper)")
    axes[0].set_ylabel("rotation error ‖ΔR‖_F (0 … 2√2)")
    axes[1].set_ylabel("translation error (voxels)")
    for ax in axes:
        _setup_snr_axis(ax, results.snrs)
    axes[1].legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.02, 1.0))
    fig.suptitle(title)
    fig.tight_layout(rect=(0, 0.03, 1, 1))
    _save_png(fig, path, results.meta, title)


def plot_clustering(results: BenchmarkResults, path: Path) -> None:
    """Clustering accuracy vs SNR (5-structure averages), ours solid, paper dashed."""
    title = "Clustering accuracy vs SNR (average of 5 structures)"
    fig, ax = plt.subplots(figsize=(9.5, 4.2))
    rows = _rows(results, CLUSTERING_ROWS, results.clustering)
    for i, row in enumerate(rows):
        color = f"C{i}"
        ax.plot(*_series(results, row, lambda r, snr: _ours_accuracy(
            results.clustering.get(r.key, {}).get(snr), None)), "o-", color=color,
            label=row.label)
        xs, ys = _series(results, row, lambda r, snr: _paper_accuracy(r, None, snr))
        if xs and row.key != "jimnet-mcp":  # the same paper row as the ablation
            ax.plot(xs, ys, "s--", color=color, alpha=0.6, label=f"{row.label} (paper)")
    ax.axhline(100 / len(STRUCTURES), color="0.5", lw=0.8, ls=":", label="chance")
    ax.set_ylabel("accuracy (%)")
    ax.set_ylim(0, 105)
    _setup_snr_axis(ax, results.snrs)
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.02, 1.0))
    fig.suptitle(title)
    fig.tight_layout(rect=(0, 0.03, 1, 1))
    _save_png(fig, path, results.meta, title)


# ------------------------------------------------------------------------ raw results


def _finite(x: Any) -> Any:
    if isinstance(x, float) and not math.isfinite(x):
        return None
    return x


def _entry_json(entry: object) -> dict[str, Any]:
    if isinstance(entry, Unavailable):
        return {"status": entry.reason}
    if isinstance(entry, PairErrors):
        return {"status": "ok", "classes": entry.classes.tolist(),
                "rotation_error": entry.rotation.tolist(),
                "translation_error_voxels": entry.translation.tolist()}
    assert isinstance(entry, ClusterScores)
    return {"status": "ok", "accuracy_percent": _finite(entry.overall),
            "per_class_percent": [_finite(float(v)) for v in entry.per_class]}


def results_json(results: BenchmarkResults) -> str:
    """Everything as JSON (SNR keys as ``%g`` strings, NaN as null)."""
    def table(d: dict) -> dict:
        return {k: {f"{snr:g}": _entry_json(e) for snr, e in v.items()} for k, v in d.items()}

    doc = {"meta": results.meta, "snrs": results.snrs,
           "alignment": table(results.alignment), "clustering": table(results.clustering),
           "timings_s": {m: {f"{s:g}": round(t, 2) for s, t in v.items()}
                         for m, v in results.timings.items()}}
    return json.dumps(doc, indent=1, ensure_ascii=False) + "\n"


# ------------------------------------------------------------------------ everything


def _stem(kind: str, structure: PaperStructure) -> str:
    table = structure.alignment_table if kind == "alignment" else structure.clustering_table
    return f"{kind}_{table}_{structure.paper_id}"


def _timings_table(results: BenchmarkResults) -> list[str]:
    """Wall seconds per method and SNR, including SNR 100 when it only trained base models."""
    snrs = list(results.snrs)
    snrs += sorted({s for v in results.timings.values() for s in v} - set(snrs), reverse=True)
    body = [[m, *[f"{v[s]:.1f}" if s in v else "–" for s in snrs]]
            for m, v in results.timings.items()]
    return _md_table(["method", *[f"SNR {s:g} (s)" for s in snrs]], body)


def write_report(out_dir: str | Path, results: BenchmarkResults) -> list[Path]:
    """Write every table, plot and ``results.json`` into ``out_dir``; returns the paths.

    ``out_dir`` is normally the temporary directory of an atomic output
    (:func:`jimnet.io.atomic_output_dir`), so the files appear all at once.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []

    def put(name: str, text: str) -> None:
        (out / name).write_text(text, encoding="utf-8")
        written.append(out / name)

    for structure in STRUCTURES:
        for kind, make in (("alignment", alignment_table), ("clustering", clustering_table)):
            md, table_csv = make(results, structure)
            put(_stem(kind, structure) + ".md", md)
            put(_stem(kind, structure) + ".csv", table_csv)
    summaries = {}
    for kind, make in (("alignment", alignment_table), ("clustering", clustering_table)):
        md, table_csv = make(results, None)
        summaries[kind] = md
        put(f"{kind}_summary.md", md)
        put(f"{kind}_summary.csv", table_csv)
    plot_alignment(results, out / "alignment_vs_snr.png")
    plot_clustering(results, out / "clustering_vs_snr.png")
    written += [out / "alignment_vs_snr.png", out / "clustering_vs_snr.png"]
    put("results.json", results_json(results))
    readme = _md_header("jimnet benchmark: tables S1–S10 of the Jim-Net supplement",
                        results.meta)
    for kind in ("alignment", "clustering"):
        body = summaries[kind].split("\n")
        start = next(i for i, line in enumerate(body) if line.startswith("| Method"))
        title = _alignment_title(None) if kind == "alignment" else _clustering_title(None)
        readme += [f"## {title}", "", *body[start:], ""]
    readme += ["## Wall time per method and SNR (training included)", "",
               *_timings_table(results), "", "## Files", "",
               *[f"- `{p.name}`" for p in written], "- `runs/`: trained models "
               "(`model.pt`, `metrics.jsonl`) per method and SNR", "- `data/` (unless --data): "
               "the simulated datasets"]
    put("README.md", "\n".join(readme) + "\n")
    return written
