"""A multirun (`xopipe -m`) as the launching process sees it: progress lines while the
jobs run, then summary.parquet and the backend comparison, read from the sweep folder."""
