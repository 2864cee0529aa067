"""Package-wide defaults, as ``scvi.settings`` holds them: the seed, the minibatch of inference calls,
CPU threads and whether training draws a progress bar."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Settings:
    seed: int = 0  # training and inference draws (the CLI's --seed default)
    batch_size: int = 128  # minibatch of inference calls when their batch_size is None
    num_threads: int | None = None  # CPU threads; None: all cores
    progress_bar: bool = True  # tqdm bar while training
    progress_interval: float = 0.5  # seconds between progress updates within an epoch


settings = Settings()
