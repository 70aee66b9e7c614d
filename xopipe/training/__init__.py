"""Training: learn the pipeline's kernels and a linear head of votes that tell X from O.

- `data`: the images (generated X and O, or a folder of classes);
- `model`: the batched forward and backward through the pipeline, and the head;
- `optim`: SGD as torch's; `trainer`: the epochs; `files`: the run folder's tables;
- `run`: one training run with its manifest; `app`: the command line.
"""
