from xopipe.cli import entry

entry()
