from xopipe.app import entry

entry()
