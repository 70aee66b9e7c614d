"""xopipe's Hydra launcher: the basic launcher, composing each set of group choices once."""
