"""Sweeps after the fact: summary, backend comparison and reports, read from the sweep folder."""
