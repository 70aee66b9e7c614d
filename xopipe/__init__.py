"""xopipe: convolution, padding, pooling and activation as a declarative pipeline."""

__version__ = "0.1.0"
