"""ArcFace identity embeddings with ONNX Runtime (InsightFace ``w600k_r50.onnx``, weight
``arcface_w600k_r50``), the identity model behind "CSIM" in avatar papers.

Input: 112×112 RGB faces aligned on the ArcFace five-point template
(:func:`avatar_eval.regions.face_align.norm_crop`), normalised as InsightFace's ``ArcFaceONNX``
does for these models: ``(x − 127.5) / 127.5``, NCHW. Output: the 512-d embedding, L2-normalised
here (cosine = dot product).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

__all__ = ["ArcFaceONNX", "load_arcface"]


class ArcFaceONNX:
    def __init__(self, path: str | Path, providers: list[str] | None = None):
        import onnxruntime as ort

        opts = ort.SessionOptions()
        opts.log_severity_level = 3
        self.session = ort.InferenceSession(str(path), sess_options=opts,
                                            providers=providers or ["CPUExecutionProvider"])
        inp = self.session.get_inputs()[0]
        self.input_name = inp.name
        shape = inp.shape
        self.size = (int(shape[3]) if isinstance(shape[3], int) else 112,
                     int(shape[2]) if isinstance(shape[2], int) else 112)
        self.output_name = self.session.get_outputs()[0].name
        self.input_mean, self.input_std = 127.5, 127.5

    def embed(self, faces_rgb: np.ndarray | list[np.ndarray]) -> np.ndarray:
        """(N, 112, 112, 3) uint8 RGB aligned faces → (N, D) L2-normalised float32 embeddings."""
        import cv2

        faces = [np.ascontiguousarray(f) for f in faces_rgb]
        if not faces:
            return np.zeros((0, 512), dtype=np.float32)
        batch = []
        for f in faces:
            if (f.shape[1], f.shape[0]) != self.size:
                f = cv2.resize(f, self.size)
            batch.append(f)
        x = (np.stack(batch).astype(np.float32) - self.input_mean) / self.input_std
        x = x.transpose(0, 3, 1, 2)
        out = np.concatenate([self.session.run([self.output_name], {self.input_name: x[i : i + 32]})[0]
                              for i in range(0, x.shape[0], 32)])
        n = np.linalg.norm(out, axis=1, keepdims=True)
        return (out / np.maximum(n, 1e-12)).astype(np.float32)


def load_arcface(path: str | Path | None = None) -> ArcFaceONNX:
    if path is None:
        from ..weights import resolve_weight

        path = resolve_weight("arcface_w600k_r50")
    return ArcFaceONNX(path)
