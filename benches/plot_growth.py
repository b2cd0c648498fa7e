"""Plots the CSV written by `cargo run --release -p dbops-benches --bin growth` as one PNG.

Usage: python benches/plot_growth.py [CSV] [PNG]   (defaults: benches/results/growth.csv, benches/results/growth.png)
"""

import csv
import sys
from collections import defaultdict

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def main() -> None:
    source = sys.argv[1] if len(sys.argv) > 1 else "benches/results/growth.csv"
    target = sys.argv[2] if len(sys.argv) > 2 else "benches/results/growth.png"
    series: dict[tuple[str, str], list[dict[str, str]]] = defaultdict(list)
    with open(source, newline="") as f:
        for row in csv.DictReader(f):
            series[(row["kind"], row["tool"])].append(row)

    fig, axes = plt.subplots(2, 2, figsize=(12, 9))
    panels = [
        (axes[0][0], "backup", "seconds", "database size (MB)", "backup time (s)", "Backup time by database size"),
        (axes[0][1], "backup", "peak_rss_mb", "database size (MB)", "peak RSS (MB)", "Backup memory by database size"),
        (axes[1][0], "migrate", "seconds", "migration files", "time to apply all (s)", "Applying migrations"),
        (axes[1][1], "seed", "seconds", "heavy profile scale", "seeding time (s)", "Seeding (rows/s annotated)"),
    ]
    for ax, kind, field, xlabel, ylabel, title in panels:
        for (k, tool), rows in sorted(series.items()):
            if k != kind:
                continue
            xs = [float(r["x"]) for r in rows]
            ys = [float(r[field]) for r in rows]
            ax.plot(xs, ys, marker="o", label=tool)
            if kind == "seed":
                for r, x, y in zip(rows, xs, ys):
                    ax.annotate(f"{float(r['rows']) / y / 1000:.0f}k rows/s", (x, y),
                                textcoords="offset points", xytext=(4, -12), fontsize=8)
        ax.set_xscale("log")
        if field == "peak_rss_mb":
            ax.set_ylim(bottom=0)
        else:
            ax.set_yscale("log")
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        ax.set_title(title)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend()
    fig.tight_layout()
    fig.savefig(target, dpi=100)
    print(f"wrote {target}")


if __name__ == "__main__":
    main()
