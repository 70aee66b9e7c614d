"""Comparing results: two grids, two runs or two sweeps; diff.csv, the reports, xopipe-diff.

Layers, top down: cli (the command) -> pairs (which runs to compare, and how
they compare) -> compare (two grids cell by cell); jobs and grids read
finished runs from disk; table, report and heatmap write the results.
"""
