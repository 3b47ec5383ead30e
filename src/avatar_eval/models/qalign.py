"""Q-Align (Q-Future/Q-Align, ``q-future/one-align``): LMM-based 1–5 quality / aesthetic scores.

Route: optional extra ``avatar-eval[qalign]``. The model is an mPLUG-Owl2 LLM whose code ships in
the checkpoint repository (``trust_remote_code``); that code targets transformers 4.36 and does
not load with transformers 5, so the extra pins an environment of its own. The directory comes
from our weight resolution (``q_align_onealign``, a model directory of ~16 GB); without it the
metrics are unavailable. Scoring uses the model's own ``score(images, task_, input_="image")``:
the softmax-weighted mean over the five rating words (excellent … bad → 5 … 1).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ..errors import WeightsUnavailable

WEIGHT = "q_align_onealign"
TASKS = {"quality": "quality", "aesthetic": "aesthetics"}


def load_qalign(path: str | Path, device: str = "cpu") -> Any:
    p = Path(path)
    if not p.is_dir() or not (p / "config.json").exists():
        raise WeightsUnavailable(f"Q-Align: {p} is not a model directory with config.json")
    try:
        import torch
        from transformers import AutoModelForCausalLM

        dtype = torch.float16 if str(device).startswith("cuda") else torch.float32
        model = AutoModelForCausalLM.from_pretrained(str(p), trust_remote_code=True, torch_dtype=dtype)
    except WeightsUnavailable:
        raise
    except Exception as e:  # remote code needing other transformers versions, missing shards, ...
        raise WeightsUnavailable(
            f"Q-Align could not be loaded from {p} ({type(e).__name__}: {e}); it needs the optional extra "
            "`avatar-eval[qalign]` (transformers 4.36-era remote code)"
        ) from e
    if not hasattr(model, "score"):
        raise WeightsUnavailable(f"Q-Align: the model in {p} has no score() method (not one-align?)")
    return model.eval().to(device)


def qalign_scores(model: Any, images: list[np.ndarray], task: str) -> list[float]:
    from PIL import Image

    pil = [Image.fromarray(np.ascontiguousarray(im)) for im in images]
    out = model.score(pil, task_=TASKS[task], input_="image")
    return [float(x) for x in np.asarray(out.detach().float().cpu() if hasattr(out, "detach") else out).reshape(-1)]
