"""Per-frame region tracks (body pose, hands, face, mouth) as compact arrays.

All coordinates are pixels of the *source* frame (x right, y down), NaN where not found.
Hands are indexed by the person's side: ``0 = left hand``, ``1 = right hand`` (the person's own
left/right, as MediaPipe Pose names its wrists; MediaPipe Hands' handedness label assumes a
mirrored selfie image and is flipped, see :mod:`avatar_eval.regions.mediapipe`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

#: Region names used across the toolkit (JWB-DH regions + mouth + separate hands)
REGIONS: tuple[str, ...] = ("full", "face", "mouth", "hands", "left_hand", "right_hand")
#: Regions that are crops (``full`` is the frame itself)
CROP_REGIONS: tuple[str, ...] = ("face", "mouth", "hands", "left_hand", "right_hand")
HAND_SIDES: tuple[str, ...] = ("left_hand", "right_hand")

#: MediaPipe Pose indices
POSE_LEFT_WRIST, POSE_RIGHT_WRIST = 15, 16
POSE_LEFT_ELBOW, POSE_RIGHT_ELBOW = 13, 14
#: the 40 lip landmarks of Face Mesh (outer + inner contour; THEval's mouth crop)
LIP_LANDMARKS: tuple[int, ...] = (
    61, 146, 91, 181, 84, 17, 314, 405, 321, 375, 291, 185, 40, 39, 37, 0, 267, 269, 270, 409,
    78, 95, 88, 178, 87, 14, 317, 402, 318, 324, 308, 191, 80, 81, 82, 13, 312, 311, 310, 415,
)

# hand keypoint sources
HAND_NONE, HAND_FULL, HAND_ROI, HAND_MANIFEST = 0, 1, 2, 3


@dataclass
class RegionTracks:
    """Landmark tracks of one clip (one row per decoded frame).

    * ``pose``: (T, 33, 4) x, y [px], z [MediaPipe units], visibility; NaN rows where no body.
    * ``hands``: (T, 2, 21, 3) x, y [px], z; NaN where that hand was not found.
    * ``hand_score``: (T, 2) MediaPipe handedness confidence (NaN where not found).
    * ``hand_source``: (T, 2) int8: 0 none, 1 full-frame detection, 2 re-detected in a wrist ROI.
    * ``face``: (T, 468, 2) Face Mesh points [px], NaN where no face.
    """

    pose: np.ndarray
    hands: np.ndarray
    hand_score: np.ndarray
    hand_source: np.ndarray
    face: np.ndarray
    width: int
    height: int
    times: np.ndarray
    frame_indices: np.ndarray
    fps: float
    backend: str = "mediapipe"
    config: dict = field(default_factory=dict)

    @property
    def n_frames(self) -> int:
        return int(self.times.shape[0])

    @property
    def pose_present(self) -> np.ndarray:
        return np.isfinite(self.pose[:, 0, 0])

    @property
    def hand_present(self) -> np.ndarray:
        """(T, 2) bool."""
        return np.isfinite(self.hands[:, :, 0, 0])

    @property
    def face_present(self) -> np.ndarray:
        return np.isfinite(self.face[:, 0, 0])

    def mouth(self) -> np.ndarray:
        """(T, 40, 2) lip landmarks in px."""
        return self.face[:, list(LIP_LANDMARKS), :]

    def region_points(self, region: str) -> tuple[np.ndarray, np.ndarray]:
        """(points (T, K, 2), scores (T, K)) of the keypoints that define ``region``.

        Scores: Face Mesh has none (1 where the face was found, NaN elsewhere); hands carry the
        handedness confidence for all 21 points; ``hands`` stacks both hands (K = 42).
        """
        if region == "face":
            pts = self.face
            sc = np.where(self.face_present, 1.0, np.nan)[:, None].repeat(pts.shape[1], axis=1)
        elif region == "mouth":
            pts = self.mouth()
            sc = np.where(self.face_present, 1.0, np.nan)[:, None].repeat(pts.shape[1], axis=1)
        elif region in HAND_SIDES:
            h = HAND_SIDES.index(region)
            pts = self.hands[:, h, :, :2]
            sc = self.hand_score[:, h][:, None].repeat(21, axis=1)
        elif region == "hands":
            pts = self.hands[:, :, :, :2].reshape(self.n_frames, 42, 2)
            sc = np.repeat(self.hand_score, 21, axis=1)
        else:
            raise KeyError(f"no keypoints define region {region!r}")
        return pts.astype(np.float64), sc.astype(np.float64)

    def summary(self) -> dict:
        hp = self.hand_present
        return {
            "n_frames": self.n_frames,
            "pose_frames": int(self.pose_present.sum()),
            "face_frames": int(self.face_present.sum()),
            "left_hand_frames": int(hp[:, 0].sum()),
            "right_hand_frames": int(hp[:, 1].sum()),
            "both_hands_frames": int(hp.all(axis=1).sum()),
            "hand_roi_recoveries": int((self.hand_source == HAND_ROI).sum()),
            "backend": self.backend,
        }
