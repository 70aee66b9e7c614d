"""Where results go: tables, console, manifest (and, when on, figures and report)."""
