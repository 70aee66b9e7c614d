"""`python -m xopipe.bench`: xopipe's backends against PyTorch, as ratios, with memory.

Each implementation is timed in a process of its own (NumPy's BLAS threads
keep spinning after a call and would slow the next library down), with the
same thread count; times are medians of several repeats, reported as ratios
to torch.nn.functional on the same machine in the same run.
"""
