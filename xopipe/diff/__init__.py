"""Comparing results: two grids, two runs or two sweeps; diff.csv, the reports, xopipe-diff.

Layers, top down: cli (the command) -> pairs (which runs to compare, and how
they compare; comparison holds what was found) -> compare (two grids cell by
cell); jobs and grids read finished runs from disk, every table of them;
table, report (and render) and heatmap write the results.
"""
