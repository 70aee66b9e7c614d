"""xopipe's Hydra configs, installed as the package xopipe.conf."""
