"""dlib's face-recognition ResNet (128-d, ``dlib_face_recognition_resnet_model_v1.dat``), the
offline identity model: the ``face_recognition_models`` wheel ships the file, and ``dlib-bin``
provides dlib (binary wheel; dlib itself is not a project dependency, see docs/jwbdh.md).

Pipeline (as ``face_recognition.face_encodings``): a face rectangle, dlib's 5-point shape
predictor (``shape_predictor_5_face_landmarks.dat``, CC0), ``compute_face_descriptor`` with
``num_jitters=0`` on the RGB image (dlib aligns to 150×150 itself). The rectangle comes from our
Face Mesh box (tight box of the 468 points) instead of dlib's HOG detector, so frames are embedded
where Face Mesh found the face.

Both files resolve through the weights registry (``dlib_face_resnet_v1``,
``dlib_shape_predictor_5``); the copies inside ``face_recognition_models`` are passed as the
explicit path when that package is installed (located without importing it: its ``__init__``
needs ``pkg_resources``).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np

from ..errors import WeightsUnavailable

__all__ = ["DlibFaceEmbedder", "load_dlib_embedder", "face_recognition_models_file", "register_dlib_weights"]

_FRM_URL = "https://github.com/ageitgey/face_recognition_models/raw/master/face_recognition_models/models/"


def register_dlib_weights() -> None:
    from ..weights import WeightSpec, list_weights, register_weight

    have = {s.name for s in list_weights()}
    if "dlib_face_resnet_v1" not in have:
        register_weight(WeightSpec(
            name="dlib_face_resnet_v1", filename="dlib_face_recognition_resnet_model_v1.dat",
            url=_FRM_URL + "dlib_face_recognition_resnet_model_v1.dat",
            license="CC0-1.0 (dlib models by Davis King; redistributed in face_recognition_models, MIT)",
            source="dlib (dlib.net) via ageitgey/face_recognition_models",
            description="dlib ResNet face descriptor, 128-d (offline identity model for CSIM).",
            used_by=("identity.csim.offline", "jwbdh.csim.face.offline"),
        ))
    if "dlib_shape_predictor_5" not in have:
        register_weight(WeightSpec(
            name="dlib_shape_predictor_5", filename="shape_predictor_5_face_landmarks.dat",
            url=_FRM_URL + "shape_predictor_5_face_landmarks.dat",
            license="CC0-1.0 (dlib models by Davis King)",
            source="dlib (dlib.net) via ageitgey/face_recognition_models",
            description="dlib 5-point face landmarks for the descriptor's alignment.",
            used_by=("identity.csim.offline", "jwbdh.csim.face.offline"),
        ))


def face_recognition_models_file(filename: str) -> Path | None:
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:
        return None
    p = Path(list(spec.submodule_search_locations)[0]) / "models" / filename
    return p if p.is_file() else None


class DlibFaceEmbedder:
    def __init__(self, resnet_path: str | Path, shape5_path: str | Path):
        try:
            import dlib
        except ImportError as e:  # dlib is optional: say how to get it
            raise WeightsUnavailable(
                "dlib is not installed: `pip install dlib-bin` (binary wheel) to use the dlib "
                "identity model"
            ) from e
        self.dlib = dlib
        self.sp = dlib.shape_predictor(str(shape5_path))
        self.rec = dlib.face_recognition_model_v1(str(resnet_path))

    def embed(self, rgb: np.ndarray, box_xyxy) -> np.ndarray:
        x0, y0, x1, y1 = (int(round(v)) for v in box_xyxy)
        rect = self.dlib.rectangle(x0, y0, x1, y1)
        img = np.ascontiguousarray(rgb)
        shape = self.sp(img, rect)
        return np.asarray(self.rec.compute_face_descriptor(img, shape, 0), dtype=np.float32)


def load_dlib_embedder(resnet_path: str | Path | None = None, shape5_path: str | Path | None = None) -> DlibFaceEmbedder:
    from ..weights import resolve_weight

    register_dlib_weights()
    r = resolve_weight("dlib_face_resnet_v1",
                       resnet_path or face_recognition_models_file("dlib_face_recognition_resnet_model_v1.dat"))
    s = resolve_weight("dlib_shape_predictor_5",
                       shape5_path or face_recognition_models_file("shape_predictor_5_face_landmarks.dat"))
    return DlibFaceEmbedder(r, s)
