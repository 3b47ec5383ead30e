"""ArcFace identity embeddings with ONNX Runtime (InsightFace ``w600k_r50.onnx``, weight
``arcface_w600k_r50``), the identity model behind "CSIM" in avatar papers.

Input: 112×112 RGB faces aligned on the ArcFace five-point template
(:func:`avatar_eval.regions.face_align.norm_crop`), normalised by InsightFace's ``ArcFaceONNX``
rule: when the graph's first 8 nodes include both a ``Sub``/``_minus`` and a ``Mul``/``_mul``
node (MXNet-converted models normalise inside the graph) the input is the raw 0–255 pixels,
otherwise ``(x − 127.5) / 127.5`` (PyTorch exports such as ``w600k_r50.onnx``); NCHW. Output: the
512-d embedding, L2-normalised here (cosine = dot product).
"""

from __future__ import annotations

import mmap
from pathlib import Path

import numpy as np

__all__ = ["ArcFaceONNX", "load_arcface", "first_node_names", "insightface_input_norm"]


def _varint(buf, i: int) -> tuple[int, int]:
    shift = value = 0
    while True:
        b = buf[i]
        i += 1
        value |= (b & 0x7F) << shift
        if b < 0x80:
            return value, i
        shift += 7


def _length_delimited(buf, start: int, end: int):
    """(field number, payload start, payload end) of each length-delimited field of a protobuf
    message; other wire types are skipped."""
    i = start
    while i < end:
        key, i = _varint(buf, i)
        field, wire = key >> 3, key & 7
        if wire == 0:
            _, i = _varint(buf, i)
        elif wire == 1:
            i += 8
        elif wire == 5:
            i += 4
        elif wire == 2:
            n, i = _varint(buf, i)
            yield field, i, i + n
            i += n
        else:
            raise ValueError(f"unsupported protobuf wire type {wire}")


def first_node_names(path: str | Path, n: int = 8) -> list[str]:
    """Names of the first ``n`` nodes of an ONNX graph (ModelProto.graph = field 7, GraphProto.node
    = field 1, NodeProto.name = field 3), read from the file's head without the ``onnx`` package."""
    with open(path, "rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as buf:
        for f, s, e in _length_delimited(buf, 0, len(buf)):
            if f != 7:
                continue
            names: list[str] = []
            for g, gs, ge in _length_delimited(buf, s, e):
                if g == 1:
                    name = ""
                    for h, hs, he in _length_delimited(buf, gs, ge):
                        if h == 3:
                            name = bytes(buf[hs:he]).decode("utf-8", "replace")
                    names.append(name)
                    if len(names) >= n:
                        break
            return names
    return []


def insightface_input_norm(node_names: list[str]) -> tuple[float, float]:
    """InsightFace ``ArcFaceONNX``'s (input_mean, input_std) from the first 8 node names."""
    head = node_names[:8]
    find_sub = any(x.startswith("Sub") or x.startswith("_minus") for x in head)
    find_mul = any(x.startswith("Mul") or x.startswith("_mul") for x in head)
    return (0.0, 1.0) if (find_sub and find_mul) else (127.5, 127.5)


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
        self.input_mean, self.input_std = insightface_input_norm(first_node_names(path))

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
