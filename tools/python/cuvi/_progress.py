"""The training progress bar: one tqdm bar over epochs, as scvi-tools draws it ("Epoch k/N"), with the
last epoch's loss and the training speed in cells per second."""

from __future__ import annotations

import sys

from tqdm.auto import tqdm


class EpochProgress:
    """Receives the engine's progress dicts (after epochs, and every half second within one)."""

    def __init__(self, enabled: bool = True):
        self.enabled = enabled
        self.bar = None
        self.last = {}
        self.live = sys.stderr.isatty() or "ipykernel" in sys.modules  # redraw within epochs only where seen

    def __call__(self, p: dict) -> None:
        if not self.enabled:
            return
        if self.bar is None:
            self.bar = tqdm(total=int(p["max_epochs"]), unit="epoch", dynamic_ncols=True)
        epoch = int(p["epoch"]) + 1
        self.bar.set_description(f"Epoch {epoch}/{p['max_epochs']}", refresh=False)
        seconds = max(float(p["epoch_seconds"]), 1e-9)
        postfix = {"cells/s": f"{p['cells'] / seconds:.0f}"}
        if p["epoch_done"]:
            self.last = p.get("metrics", {})
        if "train_loss_epoch" in self.last:
            postfix["train_loss"] = f"{self.last['train_loss_epoch']:.4g}"
        if "elbo_validation" in self.last:
            postfix["elbo_validation"] = f"{self.last['elbo_validation']:.4g}"
        self.bar.set_postfix(postfix, refresh=False)
        if p["epoch_done"]:
            self.bar.update(epoch - self.bar.n)
        elif self.live:
            self.bar.refresh()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
