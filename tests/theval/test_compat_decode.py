"""The compat variants see OpenCV's pixels, bit for bit, on HD / BT.709-tagged clips too.

OpenCV 4.11's FFmpeg backend converts every frame with BT.601 coefficients whatever the colour
tags; PyAV's ``to_ndarray("rgb24")`` honours a BT.709 tag. The clips are made here with PyAV
(libx264, a few frames), so the test needs neither ../shared nor Debian's ffmpeg.
"""

from __future__ import annotations

import numpy as np
import pytest

av = pytest.importorskip("av")
cv2 = pytest.importorskip("cv2")

from avatar_eval.io.video import clip_pixels_agree, iter_frames, to_rgb
from avatar_eval.pipeline.context import ClipContext

BT709 = 1  # AVCOL_SPC_BT709 == AVCOL_PRI_BT709 == AVCOL_TRC_BT709
RANGE = {"tv": 1, "pc": 2}


def _make(path, w, h, n=4, tag=True, pix_fmt="yuv420p", rng="tv"):
    """A few frames of saturated gradients and a moving block (chroma everywhere)."""
    yy, xx = np.mgrid[0:h, 0:w]
    with av.open(str(path), "w") as c:
        s = c.add_stream("libx264", rate=25)
        s.width, s.height, s.pix_fmt = w, h, pix_fmt
        s.options = {"crf": "18", "preset": "ultrafast"}
        if tag:
            cc = s.codec_context
            cc.colorspace = cc.color_primaries = cc.color_trc = BT709
            cc.color_range = RANGE[rng]
        for i in range(n):
            img = np.stack([(xx * 255 // w + 10 * i) % 256, yy * 255 // h, ((xx + yy) * 3 + 40 * i) % 256], -1)
            img = img.astype(np.uint8)
            img[h // 4: h // 2, w // 4 + 16 * i: w // 2 + 16 * i] = (200, 40, 160)
            f = av.VideoFrame.from_ndarray(img, format="rgb24").reformat(format=pix_fmt)
            if tag:
                f.colorspace, f.color_range = BT709, RANGE[rng]
            for p in s.encode(f):
                c.mux(p)
        for p in s.encode():
            c.mux(p)
    return path


def _opencv_rgb(path):
    cap = cv2.VideoCapture(str(path))
    out = []
    while True:
        ok, bgr = cap.read()
        if not ok:
            break
        out.append(np.ascontiguousarray(bgr[:, :, ::-1]))
    cap.release()
    return out


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    d = tmp_path_factory.mktemp("hd")
    return {
        "hd_bt709": _make(d / "hd_bt709.mp4", 1280, 720),
        "portrait_bt709": _make(d / "portrait_bt709.mp4", 720, 1280),
        "hd_untagged": _make(d / "hd_untagged.mp4", 1280, 720, tag=False),
        "hd_bt709_full": _make(d / "hd_bt709_full.mp4", 1280, 720, pix_fmt="yuvj420p", rng="pc"),
        "hd_10bit": _make(d / "hd_10bit.mp4", 1280, 720, pix_fmt="yuv420p10le"),
        "hd_422_10bit": _make(d / "hd_422_10bit.mp4", 1280, 720, pix_fmt="yuv422p10le"),
    }


@pytest.mark.parametrize("kind", ["hd_bt709", "portrait_bt709", "hd_untagged", "hd_bt709_full", "hd_10bit",
                                  "hd_422_10bit"])
def test_opencv_pixels_are_opencvs(clips, kind):
    ref = _opencv_rgb(clips[kind])
    ours = [(f.rgb, f.pixels("opencv")) for f in iter_frames(clips[kind])]
    assert len(ours) == len(ref) > 0
    for (_, px), r in zip(ours, ref):
        assert px.shape == r.shape and px.dtype == np.uint8
        assert np.array_equal(px, r)
    if kind == "hd_untagged":  # conventions agree: no second conversion, the same array
        assert all(px is rgb for rgb, px in ours)
        assert clip_pixels_agree(clips[kind])
    else:
        assert not clip_pixels_agree(clips[kind])


@pytest.mark.parametrize("kind", ["hd_bt709", "portrait_bt709"])
def test_old_decode_differs_from_opencv_on_bt709(clips, kind):
    """What the compat variants used to see (PyAV rgb24, BT.709 honoured) is not OpenCV's."""
    ref = _opencv_rgb(clips[kind])
    frames = list(iter_frames(clips[kind]))
    diff = [np.abs(f.rgb.astype(np.int16) - r.astype(np.int16)) for f, r in zip(frames, ref)]
    assert all((d > 0).mean() > 0.05 for d in diff)
    assert max(int(d.max()) for d in diff) >= 5
    # to_rgb gives the same bytes as Frame.pixels (the lazy, cached conversion)
    assert np.array_equal(to_rgb(frames[0].av_frame, "opencv"), frames[0].pixels("opencv"))


def _capture(ctx, names):
    """Prepare ``names`` in one pass, recording the images each Face Mesh graph is given."""
    from avatar_eval.pipeline.artifacts import get_spec

    seen: dict[str, list[np.ndarray]] = {n: [] for n in names}
    orig = {n: get_spec(n).factory for n in names}

    def wrap(n):
        def factory(c):
            a = orig[n](c)
            real = a.mesh.process

            def process(img):
                seen[n].append(np.array(img, copy=True))
                return real(img)

            a.mesh.process = process
            return a

        return factory

    from avatar_eval.pipeline import artifacts as A

    saved = {n: A._ARTIFACTS[n] for n in names}
    try:
        for n in names:
            A._ARTIFACTS[n] = A.ArtifactSpec(n, "frame", wrap(n), saved[n].doc)
        ctx.prepare(names)
    finally:
        A._ARTIFACTS.update(saved)
    return seen


def test_compat_face_mesh_is_fed_opencv_pixels_in_one_decode(clips):
    """End to end: lip_dynamics.compat's and eyebrow_dynamics.compat's tracks get OpenCV's frames
    (resized 256×256 with cv2 INTER_LINEAR as lip_dynamics.py does), the paper track PyAV's, from
    one decode pass."""
    import avatar_eval.metrics.theval  # noqa: F401  (registers the compat tracks)

    path = clips["hd_bt709"]
    ctx = ClipContext(str(path))
    names = ["face_mesh", "face_mesh.theval_full", "face_mesh.theval_256"]
    seen = _capture(ctx, names)
    assert ctx.decode_count == 1
    assert ctx.shared_artifacts == {}  # BT.709-tagged: the compat track is its own
    ref = _opencv_rgb(path)
    pyav = [f.rgb for f in iter_frames(path)]
    assert len(seen["face_mesh.theval_full"]) == len(ref)
    for got, r in zip(seen["face_mesh.theval_full"], ref):
        assert np.array_equal(got, r)
    for got, r in zip(seen["face_mesh.theval_256"], ref):
        # lip_dynamics.py: cv2.cvtColor(frame, BGR2RGB) then cv2.resize(rgb, (256, 256))
        assert np.array_equal(got, cv2.resize(r, (256, 256)))
    for got, p in zip(seen["face_mesh"], pyav):
        assert np.array_equal(got, p)
    assert not np.array_equal(seen["face_mesh"][0], seen["face_mesh.theval_full"][0])


def test_compat_track_shared_where_pixels_agree(clips):
    import avatar_eval.metrics.theval  # noqa: F401

    ctx = ClipContext(str(clips["hd_untagged"]))
    ctx.prepare(["face_mesh", "face_mesh.theval_full", "face_mesh.theval_256"])
    assert ctx.decode_count == 1
    assert ctx.shared_artifacts == {"face_mesh.theval_full": "face_mesh"}
    assert ctx.get("face_mesh.theval_full") is ctx.get("face_mesh").tracker  # the tracker's own rows (no hold)
    assert ctx.decode_count == 1


def test_resize_order_does_not_matter_on_non_square_frames(clips):
    """silent_lip_stability.py resizes the BGR frame then converts; lip_dynamics.py converts then
    resizes; compat resizes RGB: the same bytes (cv2.resize works per channel)."""
    bgr = _opencv_rgb(clips["portrait_bt709"])[0][:, :, ::-1].copy()
    a = cv2.cvtColor(cv2.resize(bgr, (256, 256)), cv2.COLOR_BGR2RGB)
    b = cv2.resize(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), (256, 256))
    assert np.array_equal(a, b)


@pytest.mark.parametrize("kind", ["hd_bt709", "hd_untagged"])
def test_decord_pixels_are_decords(clips, kind):
    """lip_sync.py reads with decord, which honours the BT.709 tag: its frames are PyAV's."""
    decord = pytest.importorskip("decord")
    vr = decord.VideoReader(str(clips[kind]), ctx=decord.cpu(0))
    ref = vr.get_batch(list(range(len(vr)))).asnumpy()
    ours = [f.pixels("decord") for f in iter_frames(clips[kind])]
    assert len(ours) == len(ref)
    for a, b in zip(ours, ref):
        assert np.array_equal(a, b)


def test_10bit_opencv_pixels_come_from_opencv_itself(clips):
    """On H.264 10-bit 4:2:0, PyAV's swscale with OpenCV's arguments is not OpenCV's conversion (the
    two swscale versions interpolate 10-bit chroma differently), so ``Frame.pixels("opencv")``
    takes OpenCV's own frame at the same index (io.video.OpenCVFrames): bit for bit OpenCV's, where
    the conversion alone would differ (held-out clip g03: silent-lip compat -26 % before)."""
    ref = _opencv_rgb(clips["hd_10bit"])
    frames = list(iter_frames(clips["hd_10bit"]))
    assert frames[0].av_frame.format.name == "yuv420p10le"
    assert any(not np.array_equal(to_rgb(f.av_frame, "opencv"), r) for f, r in zip(frames, ref))
    assert all(np.array_equal(f.pixels("opencv"), r) for f, r in zip(frames, ref))


def test_opencv_frames_refuses_a_frame_of_another_size(clips, caplog):
    """A frame OpenCV reads at another size (or not at all) is not taken: None, logged once."""
    from avatar_eval.io.video import OpenCVFrames

    cv = OpenCVFrames(clips["hd_10bit"])
    assert cv.rgb(0, (720, 1280, 3)) is not None
    assert cv.rgb(1, (720, 1281, 3)) is None
    assert cv.rgb(2, (720, 1280, 3)) is None  # failed once: PyAV's conversion from then on
    assert sum("not bit-exact" in r.message for r in caplog.records) == 1
    assert OpenCVFrames(clips["hd_10bit"]).rgb(99, (720, 1280, 3)) is None
