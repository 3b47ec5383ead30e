"""DWPose whole-body keypoints (133 points, COCO-WholeBody order) with ONNX Runtime.

The pipeline of DWPose's ONNX annotator (``annotator/dwpose`` in IDEA-Research/DWPose and
ControlNet-v1-1-nightly), which JWB-DH's crop script calls directly:

1. YOLOX-L person detector (``yolox_l.onnx``, weight ``dwpose_yolox_l``): letterbox to 640×640
   (pad value 114, top-left aligned), grid decoding, class-aware NMS (IoU 0.45, score 0.1), then
   persons (class 0) with score > 0.3.
2. RTMPose-style SimCC pose model (``dw-ll_ucoco_384.onnx``, weight ``dwpose_ll_ucoco_384``): each
   box → centre/scale with padding 1.25, aspect fixed to the model's 288×384, affine warp,
   normalise with mean (123.675, 116.28, 103.53) / std (58.395, 57.12, 57.375), argmax decoding
   of the SimCC vectors (split ratio 2), score = min(max_x, max_y).

Like the public code, images are fed in OpenCV's BGR order (frames are converted from our RGB).
COCO-WholeBody 133 layout: body 0–16, feet 17–22, face 23–90, left hand 91–111, right hand
112–132. JWB-DH slices as if there were 134 points (``[24:92]`` face, ``[92:113]`` and
``[113:134]`` hands; an off-by-one from the 134-point layout with an inserted neck):
:data:`JWBDH_SLICES` reproduces that for the compat boxes; :data:`WHOLEBODY_SLICES` is correct.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..pipeline.artifacts import FrameAnalyzer, register_frame_artifact

if TYPE_CHECKING:  # pragma: no cover
    from ..io.video import Frame
    from ..pipeline.context import ClipContext

WHOLEBODY_SLICES = {"face": slice(23, 91), "left_hand": slice(91, 112), "right_hand": slice(112, 133)}
#: what JWB-DH's process_video_hands_videos.py slices from the 133 points DWPose returns
JWBDH_SLICES = {"face": slice(24, 92), "left_hand": slice(92, 113), "right_hand": slice(113, 134)}


# ---------------------------------------------------------------------- YOLOX
def yolox_preprocess(img: np.ndarray, input_size=(640, 640)) -> tuple[np.ndarray, float]:
    import cv2

    padded = np.ones((input_size[0], input_size[1], 3), dtype=np.uint8) * 114
    r = min(input_size[0] / img.shape[0], input_size[1] / img.shape[1])
    resized = cv2.resize(img, (int(img.shape[1] * r), int(img.shape[0] * r)), interpolation=cv2.INTER_LINEAR).astype(np.uint8)
    padded[: int(img.shape[0] * r), : int(img.shape[1] * r)] = resized
    return np.ascontiguousarray(padded.transpose(2, 0, 1), dtype=np.float32), r


def yolox_decode(outputs: np.ndarray, img_size=(640, 640), strides=(8, 16, 32)) -> np.ndarray:
    grids, exp = [], []
    for s in strides:
        hs, ws = img_size[0] // s, img_size[1] // s
        xv, yv = np.meshgrid(np.arange(ws), np.arange(hs))
        g = np.stack((xv, yv), 2).reshape(1, -1, 2)
        grids.append(g)
        exp.append(np.full((*g.shape[:2], 1), s))
    grids = np.concatenate(grids, 1)
    exp = np.concatenate(exp, 1)
    out = np.array(outputs, dtype=np.float64, copy=True)
    out[..., :2] = (out[..., :2] + grids) * exp
    out[..., 2:4] = np.exp(out[..., 2:4]) * exp
    return out


def nms(boxes: np.ndarray, scores: np.ndarray, thr: float) -> list[int]:
    x1, y1, x2, y2 = boxes.T
    areas = (x2 - x1 + 1) * (y2 - y1 + 1)
    order = scores.argsort()[::-1]
    keep = []
    while order.size > 0:
        i = order[0]
        keep.append(int(i))
        xx1 = np.maximum(x1[i], x1[order[1:]])
        yy1 = np.maximum(y1[i], y1[order[1:]])
        xx2 = np.minimum(x2[i], x2[order[1:]])
        yy2 = np.minimum(y2[i], y2[order[1:]])
        w = np.maximum(0.0, xx2 - xx1 + 1)
        h = np.maximum(0.0, yy2 - yy1 + 1)
        inter = w * h
        ovr = inter / (areas[i] + areas[order[1:]] - inter)
        order = order[np.where(ovr <= thr)[0] + 1]
    return keep


def multiclass_nms(boxes: np.ndarray, scores: np.ndarray, nms_thr: float = 0.45, score_thr: float = 0.1) -> np.ndarray | None:
    dets = []
    for c in range(scores.shape[1]):
        cs = scores[:, c]
        m = cs > score_thr
        if not m.any():
            continue
        b, s = boxes[m], cs[m]
        keep = nms(b, s, nms_thr)
        if keep:
            dets.append(np.concatenate([b[keep], s[keep, None], np.full((len(keep), 1), c)], 1))
    return np.concatenate(dets, 0) if dets else None


def persons_from_yolox(raw: np.ndarray, ratio: float) -> np.ndarray:
    pred = yolox_decode(raw)[0]
    boxes = pred[:, :4]
    scores = pred[:, 4:5] * pred[:, 5:]
    xyxy = np.empty_like(boxes)
    xyxy[:, 0] = boxes[:, 0] - boxes[:, 2] / 2.0
    xyxy[:, 1] = boxes[:, 1] - boxes[:, 3] / 2.0
    xyxy[:, 2] = boxes[:, 0] + boxes[:, 2] / 2.0
    xyxy[:, 3] = boxes[:, 1] + boxes[:, 3] / 2.0
    xyxy /= ratio
    dets = multiclass_nms(xyxy, scores)
    if dets is None:
        return np.zeros((0, 4))
    keep = (dets[:, 4] > 0.3) & (dets[:, 5] == 0)
    return dets[keep, :4]


# ---------------------------------------------------------------------- SimCC pose
def bbox_xyxy2cs(bbox: np.ndarray, padding: float = 1.25) -> tuple[np.ndarray, np.ndarray]:
    x1, y1, x2, y2 = bbox
    return np.array([x1 + x2, y1 + y2]) * 0.5, np.array([x2 - x1, y2 - y1]) * padding


def _fix_aspect_ratio(scale: np.ndarray, aspect_ratio: float) -> np.ndarray:
    w, h = scale
    return np.array([w, w / aspect_ratio]) if w > h * aspect_ratio else np.array([h * aspect_ratio, h])


def _third(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    d = a - b
    return b + np.r_[-d[1], d[0]]


def warp_matrix(center: np.ndarray, scale: np.ndarray, output_size: tuple[int, int]) -> np.ndarray:
    import cv2

    src_w = scale[0]
    dst_w, dst_h = output_size
    src_dir = np.array([0.0, src_w * -0.5])
    dst_dir = np.array([0.0, dst_w * -0.5])
    src = np.zeros((3, 2))
    src[0] = center
    src[1] = center + src_dir
    src[2] = _third(src[0], src[1])
    dst = np.zeros((3, 2))
    dst[0] = [dst_w * 0.5, dst_h * 0.5]
    dst[1] = dst[0] + dst_dir
    dst[2] = _third(dst[0], dst[1])
    return cv2.getAffineTransform(np.float32(src), np.float32(dst))


def simcc_maximum(simcc_x: np.ndarray, simcc_y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    N, K, _ = simcc_x.shape
    sx = simcc_x.reshape(N * K, -1)
    sy = simcc_y.reshape(N * K, -1)
    locs = np.stack((np.argmax(sx, axis=1), np.argmax(sy, axis=1)), axis=-1).astype(np.float32)
    vx, vy = np.amax(sx, axis=1), np.amax(sy, axis=1)
    vals = np.minimum(vx, vy)
    locs[vals <= 0.0] = -1
    return locs.reshape(N, K, 2), vals.reshape(N, K)


MEAN = np.array([123.675, 116.28, 103.53])
STD = np.array([58.395, 57.12, 57.375])


@dataclass
class DWPoseTracks:
    """(T, 133, 2) keypoints px and (T, 133) scores of the first detected person (NaN / 0 if none)."""

    keypoints: np.ndarray
    scores: np.ndarray
    n_persons: np.ndarray
    width: int
    height: int
    frame_indices: np.ndarray
    config: dict = field(default_factory=dict)

    @property
    def n_frames(self) -> int:
        return int(self.frame_indices.shape[0])

    def part(self, name: str, layout: str = "wholebody") -> tuple[np.ndarray, np.ndarray]:
        sl = (JWBDH_SLICES if layout == "jwbdh" else WHOLEBODY_SLICES)[name]
        return self.keypoints[:, sl], self.scores[:, sl]


class DWPose:
    def __init__(self, det_path: str | Path | None = None, pose_path: str | Path | None = None):
        import onnxruntime as ort

        from ..weights import resolve_weight

        det_path = resolve_weight("dwpose_yolox_l", det_path)
        pose_path = resolve_weight("dwpose_ll_ucoco_384", pose_path)
        opts = ort.SessionOptions()
        opts.log_severity_level = 3
        self.det = ort.InferenceSession(str(det_path), sess_options=opts, providers=["CPUExecutionProvider"])
        self.pose = ort.InferenceSession(str(pose_path), sess_options=opts, providers=["CPUExecutionProvider"])
        h, w = self.pose.get_inputs()[0].shape[2:]
        self.input_size = (int(w), int(h))

    def __call__(self, rgb: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
        import cv2

        bgr = np.ascontiguousarray(rgb[:, :, ::-1])
        x, r = yolox_preprocess(bgr)
        raw = self.det.run(None, {self.det.get_inputs()[0].name: x[None]})[0]
        boxes = persons_from_yolox(raw, r)
        n = len(boxes)
        if n == 0:
            boxes = np.array([[0, 0, bgr.shape[1], bgr.shape[0]]], dtype=np.float64)
        imgs, centers, scales = [], [], []
        w, h = self.input_size
        for b in boxes:
            c, s = bbox_xyxy2cs(np.asarray(b, dtype=np.float64))
            s = _fix_aspect_ratio(s, w / h)
            M = warp_matrix(c, s, (w, h))
            im = cv2.warpAffine(bgr, M, (int(w), int(h)), flags=cv2.INTER_LINEAR)
            imgs.append(((im - MEAN) / STD).transpose(2, 0, 1))
            centers.append(c)
            scales.append(s)
        batch = np.ascontiguousarray(np.stack(imgs), dtype=np.float32)
        sx, sy = self.pose.run(None, {self.pose.get_inputs()[0].name: batch})[:2]
        locs, vals = simcc_maximum(sx, sy)
        kps = locs / 2.0
        kps = kps / np.array([w, h]) * np.stack(scales)[:, None] + np.stack(centers)[:, None] - np.stack(scales)[:, None] / 2
        return kps[0], vals[0], n


class DWPoseAnalyzer(FrameAnalyzer):
    def __init__(self, ctx: "ClipContext"):
        super().__init__(ctx)
        self.model = DWPose()  # WeightsUnavailable when the ONNX files are absent
        self.kps: list[np.ndarray] = []
        self.scores: list[np.ndarray] = []
        self.n: list[int] = []
        self.idx: list[int] = []
        self.size = (0, 0)

    def update(self, frame: "Frame") -> None:
        self.size = (frame.rgb.shape[1], frame.rgb.shape[0])
        k, s, n = self.model(frame.rgb)
        if n == 0:  # DWPose then runs on the whole image; the public code would keep it. We mark it.
            pass
        self.kps.append(k)
        self.scores.append(s)
        self.n.append(n)
        self.idx.append(frame.index)

    def finalize(self) -> DWPoseTracks:
        T = len(self.idx)
        return DWPoseTracks(np.asarray(self.kps, dtype=np.float32).reshape(T, 133, 2),
                            np.asarray(self.scores, dtype=np.float32).reshape(T, 133),
                            np.asarray(self.n), self.size[0], self.size[1], np.asarray(self.idx))


register_frame_artifact("dwpose_tracks", DWPoseAnalyzer,
                        "DWPose 133 whole-body keypoints + scores per frame (first person), ONNX; needs weights.")
