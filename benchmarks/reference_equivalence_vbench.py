"""Do our VBench networks compute the reference implementations' numbers? (random weights)

    python benchmarks/reference_equivalence_vbench.py \
        --vbench-repo  /path/to/Vchitect/VBench            (vbench/ utils, dimensions, third_party RAFT + AMT)
        --dino-repo    /path/to/facebookresearch/dino      (vision_transformer.py)
        --clip-repo    /path/to/openai/CLIP                (clip/ package: clip.load, model.py)
        --iqa-repo     /path/to/chaofengc/IQA-PyTorch      (pyiqa/archs/musiq_arch.py)
        --fid-repo     /path/to/mseitzer/pytorch-fid       (src/pytorch_fid/inception.py)
        [--sys-path DIR ...]   extra import dirs for the reference side (a torchvision with its
                               ``transforms``, ftfy/regex/omegaconf/easydict for CLIP/VBench/AMT)
        [--video clip.mp4] [--only dino,clip,raft,amt,musiq,fid]

Nothing of the reference code is copied here: every reference module is imported from the
checkout given on the command line. For each network the script builds the *reference* model,
gives it random weights (its own initialisation, then every tensor perturbed so that norms and
biases are not trivial), saves them in the layout of the released checkpoint (DINO ``.pth`` state
dict, CLIP TorchScript archive with fp16 tensors, LAION ``nn.Linear`` state dict, RAFT
``DataParallel`` state dict with ``module.`` keys, AMT ``{"state_dict": …}``, MUSIQ state dict,
pytorch-fid ``pt_inception`` state dict) and loads that *file* with our loader, then prints the
max abs difference of

* the network outputs for the same input tensor, and
* where VBench is involved, the per-video numbers of VBench's own dimension code
  (``subject_consistency``, ``background_consistency``, ``laion_aesthetic``,
  ``DynamicDegree``, ``MotionSmoothness``, ``imaging_quality.transform``) run on a real video,
  against our preprocessing + network + formula on the same decoded frames.

VBench reads mp4 files with decord; decord is not needed here: a stand-in ``decord`` module
(defined below) decodes with OpenCV, so both sides see the same RGB frames (decoding is not the
point under test). CPU, fp32 only.

Not imported by the tests (it needs the reference checkouts).
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import sys
import tempfile
import time
import types
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
RESULTS: list[tuple[str, str, float, str]] = []


def report(net: str, what: str, diff: float, note: str = "") -> None:
    RESULTS.append((net, what, float(diff), note))
    print(f"  {net:<14} {what:<58} max|Δ| = {diff:.3e}  {note}", flush=True)


def maxdiff(a, b) -> float:
    a = torch.as_tensor(np.asarray(a, dtype=np.float64) if not torch.is_tensor(a) else a.double())
    b = torch.as_tensor(np.asarray(b, dtype=np.float64) if not torch.is_tensor(b) else b.double())
    if a.shape != b.shape:
        raise AssertionError(f"shape {tuple(a.shape)} vs {tuple(b.shape)}")
    return float((a.double() - b.double()).abs().max())


# ---------------------------------------------------------------------------------------------
# import plumbing
# ---------------------------------------------------------------------------------------------


def namespace_package(name: str, path: Path) -> None:
    """Make ``name`` a package rooted at ``path`` without running its ``__init__`` (VBench's
    imports every dimension and its heavy dependencies)."""
    mod = types.ModuleType(name)
    mod.__path__ = [str(path)]
    sys.modules[name] = mod


def install_decord_standin() -> None:
    """decord ``VideoReader`` stand-in (OpenCV decode, RGB), enough for ``vbench.utils.load_video``."""

    class _Batch:
        def __init__(self, a):
            self.a = a

        def asnumpy(self):
            return self.a

    class VideoReader:
        def __init__(self, path, width=None, height=None, num_threads=1, **_):
            self.frames = read_rgb_frames(path)

        def __len__(self):
            return len(self.frames)

        def get_batch(self, idx):
            return _Batch(self.frames[list(idx)])

    mod = types.ModuleType("decord")
    mod.VideoReader = VideoReader
    mod.cpu = lambda *a, **k: None
    mod.bridge = types.SimpleNamespace(set_bridge=lambda *a, **k: None)
    sys.modules["decord"] = mod


_FRAMES: dict[str, np.ndarray] = {}


def read_rgb_frames(path) -> np.ndarray:
    import cv2

    path = str(path)
    if path not in _FRAMES:
        cap = cv2.VideoCapture(path)
        out = []
        while True:
            ok, f = cap.read()
            if not ok:
                break
            out.append(cv2.cvtColor(f, cv2.COLOR_BGR2RGB))
        cap.release()
        _FRAMES[path] = np.stack(out)
    return _FRAMES[path]


def import_file(name: str, path: Path):
    spec = importlib.util.spec_from_file_location(name, str(path))
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return mod


# ---------------------------------------------------------------------------------------------
# random weights
# ---------------------------------------------------------------------------------------------


@torch.no_grad()
def perturb_(model: torch.nn.Module, seed: int, rel: float = 0.1) -> torch.nn.Module:
    """Keep the reference initialisation's scale but make every tensor non-trivial: constant
    tensors (norm weights 1, biases 0) get N(0, 0.05) noise, others N(0, rel·std)."""
    g = torch.Generator().manual_seed(seed)
    for name, t in list(model.named_parameters()) + list(model.named_buffers()):
        if not t.is_floating_point():
            continue
        if name.endswith("running_var"):
            t.copy_(0.5 + torch.rand(t.shape, generator=g))
            continue
        s = float(t.float().std()) if t.numel() > 1 else 0.0
        scale = rel * s if s > 1e-8 else 0.05
        t.add_(scale * torch.randn(t.shape, generator=g).to(t.dtype))
    return model


# ---------------------------------------------------------------------------------------------
# VBench
# ---------------------------------------------------------------------------------------------


def vbench_setup(vbench_repo: Path) -> None:
    install_decord_standin()
    namespace_package("vbench", vbench_repo / "vbench")
    namespace_package("vbench.third_party", vbench_repo / "vbench" / "third_party")


def check_preprocess(tag: str, ref: torch.Tensor, ours: torch.Tensor) -> None:
    report(tag, f"preprocess output {tuple(ref.shape)} (ref dtype {ref.dtype})", maxdiff(ref, ours))


# ---------------------------------------------------------------------------------------------
# 1. DINO ViT-B/16 — VBench subject consistency
# ---------------------------------------------------------------------------------------------


def run_dino(a, tmp: Path) -> None:
    from avatar_eval.metrics.functional import vbench as fv
    from avatar_eval.models.dino import load_dino, vbench_dino_preprocess

    print("\n[DINO ViT-B/16]  reference: facebookresearch/dino vision_transformer.py (hubconf dino_vitb16)")
    sys.path.insert(0, str(a.dino_repo))
    vt = importlib.import_module("vision_transformer")
    torch.manual_seed(0)
    ref = vt.vit_base(patch_size=16, num_classes=0)  # exactly hubconf.dino_vitb16's constructor
    perturb_(ref, 1).eval()
    path = tmp / "dino_vitbase16_pretrain.pth"
    torch.save(ref.state_dict(), path)
    ref.load_state_dict(torch.load(path), strict=True)  # as hubconf does with the released file
    ours = load_dino(path)
    g = torch.Generator().manual_seed(2)
    with torch.no_grad():
        for shape in [(2, 3, 224, 224), (2, 3, 224, 400), (1, 3, 423, 224)]:
            x = torch.randn(shape, generator=g)
            report("dino", f"CLS feature, random input {shape[2]}x{shape[3]}", maxdiff(ref(x), ours(x)))

    if not a.vbench_repo:
        return
    vbench_setup(a.vbench_repo)
    vu = importlib.import_module("vbench.utils")
    sc = importlib.import_module("vbench.subject_consistency")
    video = str(a.video)
    frames = read_rgb_frames(video)
    ref_in = vu.dino_transform(224)(vu.load_video(video))  # VBench's exact mp4 path
    our_in = vbench_dino_preprocess(frames)
    check_preprocess("dino", ref_in, our_in)
    with torch.no_grad():
        f_ref = torch.cat([ref(ref_in[i:i + 1]) for i in range(len(ref_in))])
        f_our = torch.cat([ours(our_in[i:i + 8]) for i in range(0, len(our_in), 8)])
    report("dino", "features on real frames (each side its own preprocessing)", maxdiff(f_ref, f_our))
    _, res = sc.subject_consistency(ref, [video], "cpu", False)
    our_score = fv.temporal_consistency(f_our.numpy()).video_score
    report("dino", "subject_consistency per-video score", abs(res[0]["video_results"] - our_score),
           f"(ref {res[0]['video_results']:.6f}, ours {our_score:.6f})")


# ---------------------------------------------------------------------------------------------
# 2. CLIP ViT-B/32, ViT-L/14 + LAION head — background consistency, aesthetic quality
# ---------------------------------------------------------------------------------------------


def _clip_archive(clip_model_mod, arch: str, path: Path, seed: int) -> None:
    """A TorchScript archive in the released layout: a traced full CLIP (both towers), fp16 tensors."""
    cfg = {  # embed_dim, image_resolution, vision_layers, vision_width, vision_patch_size, context, vocab, t_width, t_heads, t_layers
        "ViT-B/32": (512, 224, 12, 768, 32, 77, 49408, 512, 8, 12),
        "ViT-L/14": (768, 224, 24, 1024, 14, 77, 49408, 768, 12, 12),
    }[arch]
    torch.manual_seed(seed)
    model = clip_model_mod.CLIP(*cfg).eval()
    perturb_(model, seed)
    img = torch.randn(1, 3, 224, 224)
    txt = torch.randint(0, 49408, (1, 77))
    with torch.no_grad():
        traced = torch.jit.trace(model, (img, txt), check_trace=False)
    with torch.no_grad():
        for p in traced.parameters():
            p.data = p.data.half()
    traced.save(str(path))


def run_clip(a, tmp: Path) -> None:
    from avatar_eval.metrics.functional import vbench as fv
    from avatar_eval.models.clip import load_clip, vbench_clip_preprocess
    from avatar_eval.models.laion import aesthetic_scores, load_laion_head

    print("\n[CLIP ViT-B/32, ViT-L/14 + LAION head]  reference: openai/CLIP clip/clip.py + model.py (pip 'clip' that VBench imports)")
    sys.path.insert(0, str(a.clip_repo))
    clip = importlib.import_module("clip")
    cm = importlib.import_module("clip.model")
    have_vb = bool(a.vbench_repo)
    if have_vb:
        vbench_setup(a.vbench_repo)
        vu = importlib.import_module("vbench.utils")
    video = str(a.video)
    frames = read_rgb_frames(video)
    g = torch.Generator().manual_seed(3)
    for arch, seed in [("ViT-B/32", 10), ("ViT-L/14", 11)]:
        path = tmp / (arch.replace("/", "-") + ".pt")
        _clip_archive(cm, arch, path, seed)
        ref, _ = clip.load(str(path), device="cpu", jit=False)  # VBench: clip.load(vit_path, device)
        ref.eval()
        ours = load_clip(path, arch, "cpu")
        with torch.no_grad():
            x = torch.randn(2, 3, 224, 224, generator=g)
            report(f"clip {arch}", "encode_image, random input", maxdiff(ref.encode_image(x), ours(x)))
        if arch == "ViT-B/32" and have_vb:
            bc = importlib.import_module("vbench.background_consistency")
            ref_in = vu.clip_transform(224)(vu.load_video(video))
            our_in = vbench_clip_preprocess(frames)
            check_preprocess(f"clip {arch}", ref_in, our_in)
            with torch.no_grad():
                e_ref, e_our = ref.encode_image(ref_in), ours(our_in)
            report(f"clip {arch}", "encode_image on real frames (own preprocessing each)", maxdiff(e_ref, e_our))
            _, res = bc.background_consistency(ref, None, [video], "cpu", False)
            s = fv.temporal_consistency(e_our.numpy()).video_score
            report(f"clip {arch}", "background_consistency per-video score", abs(res[0]["video_results"] - s),
                   f"(ref {res[0]['video_results']:.6f}, ours {s:.6f})")
        if arch == "ViT-L/14":
            head_dir = tmp / "aesthetic"
            head_dir.mkdir(exist_ok=True)
            torch.manual_seed(12)
            lin = perturb_(torch.nn.Linear(768, 1), 12)
            with torch.no_grad():
                lin.weight.mul_(20.0)  # normalised embeddings: make the scores spread
            torch.save(lin.state_dict(), head_dir / "sa_0_4_vit_l_14_linear.pth")
            head = load_laion_head(head_dir / "sa_0_4_vit_l_14_linear.pth")
            e = torch.randn(4, 768, generator=g)
            ref_head = torch.nn.Linear(768, 1)
            ref_head.load_state_dict(torch.load(head_dir / "sa_0_4_vit_l_14_linear.pth"))
            with torch.no_grad():
                r = ref_head(torch.nn.functional.normalize(e, dim=-1, p=2)).squeeze(-1)
            report("laion head", "score on random embeddings", maxdiff(r, aesthetic_scores(e, head)))
            if have_vb:
                aq = importlib.import_module("vbench.aesthetic_quality")
                aes_ref = aq.get_aesthetic_model(str(head_dir))  # VBench's loader, file present: no download
                _, res = aq.laion_aesthetic(aes_ref, ref, [video], "cpu")
                with torch.no_grad():
                    emb = torch.cat([ours(vbench_clip_preprocess(frames[i:i + 8])) for i in range(0, len(frames), 8)])
                v = aesthetic_scores(emb, head).numpy()
                s = fv.aesthetic_score(v)
                report("clip L/14+laion", "aesthetic_quality per-video score", abs(res[0]["video_results"] - s),
                       f"(ref {res[0]['video_results']:.6f}, ours {s:.6f})")


# ---------------------------------------------------------------------------------------------
# 3a. RAFT — VBench dynamic degree
# ---------------------------------------------------------------------------------------------


def run_raft(a, tmp: Path) -> None:

    from avatar_eval.metrics.functional import vbench as fv
    from avatar_eval.models.raft import load_raft, raft_flow_pairs

    print("\n[RAFT]  reference: VBench vbench/third_party/RAFT/core (princeton-vl/RAFT core/ as vendored)")
    vbench_setup(a.vbench_repo)
    sys.path.insert(0, str(a.vbench_repo / "vbench" / "third_party" / "RAFT" / "core"))  # VBench's own import setup
    from easydict import EasyDict as edict

    rr = importlib.import_module("vbench.third_party.RAFT.core.raft")
    importlib.import_module("vbench.third_party.RAFT.core.utils_core.utils")
    args = edict({"small": False, "mixed_precision": False, "alternate_corr": False})
    torch.manual_seed(20)
    ref = rr.RAFT(args)
    perturb_(ref, 20)
    path = tmp / "raft-things.pth"
    torch.save({"module." + k: v for k, v in ref.state_dict().items()}, path)  # DataParallel layout
    ours = load_raft(path)
    ref.eval()
    g = torch.Generator().manual_seed(21)
    x1 = torch.rand(1, 3, 128, 192, generator=g) * 255  # ≥ 2 px at the coarsest corr level
    x2 = torch.roll(x1, shifts=(2, 3), dims=(2, 3)) + torch.rand(1, 3, 128, 192, generator=g) * 10
    with torch.no_grad():
        _, up_ref = ref(x1, x2, iters=20, test_mode=True)
        up_our = ours(x1, x2, iters=20)
    report("raft", "flow_up, 20 iters, random 128x192 pair", maxdiff(up_ref, up_our),
           f"(|flow| max {float(up_ref.abs().max()):.2f})")
    if a.raft_repo:
        # the upstream repo's core/ vs the VBench copy, same weights
        namespace_package("raftcore_upstream", a.raft_repo / "core")
        sys.path.insert(0, str(a.raft_repo / "core"))
        try:
            up = importlib.import_module("raftcore_upstream.raft")
            ref2 = up.RAFT(args)
            ref2.load_state_dict(ref.state_dict())
            ref2.eval()
            with torch.no_grad():
                _, up2 = ref2(x1, x2, iters=20, test_mode=True)
            report("raft", "princeton-vl/RAFT core vs ours, same input", maxdiff(up2, up_our))
        except Exception as e:  # noqa: BLE001
            print(f"  (upstream RAFT core not comparable here: {type(e).__name__}: {e})")

    dd = importlib.import_module("vbench.dynamic_degree")
    args2 = edict({"model": str(path), "small": False, "mixed_precision": False, "alternate_corr": False})
    dyn = dd.DynamicDegree(args2, "cpu")  # VBench's loader: strips 'module.', strict load
    captured = {}
    orig = dyn.check_move

    def check_move(scores):
        captured["scores"] = list(scores)
        captured["params"] = dict(dyn.params)
        return orig(scores)

    dyn.check_move = check_move
    video = str(a.raft_video or a.video)
    t = time.time()
    ref_move = dyn.infer(video)
    t_ref = time.time() - t
    import cv2

    fps = cv2.VideoCapture(video).get(cv2.CAP_PROP_FPS)
    frames = read_rgb_frames(video)[:: fv.dynamic_interval(fps)]
    t = time.time()
    scores = []
    for i in range(0, len(frames) - 1, 4):
        j = min(i + 4, len(frames) - 1)
        flows = raft_flow_pairs(ours, frames[i:j], frames[i + 1:j + 1], iters=20)
        scores += [fv.top_magnitude_mean(f) for f in flows]
    t_our = time.time() - t
    thres, count = fv.dynamic_params(frames.shape[1], frames.shape[2], len(frames))
    ours_move = fv.is_dynamic(scores, thres, count)
    report("raft", f"dynamic_degree per-pair top-5% scores ({len(scores)} pairs)", maxdiff(captured["scores"], scores),
           f"(ref max {max(captured['scores']):.3f}; ref {t_ref:.0f}s, ours {t_our:.0f}s)")
    report("raft", "dynamic_degree params (thres, count_num)",
           max(abs(captured["params"]["thres"] - thres), abs(captured["params"]["count_num"] - count)))
    report("raft", "dynamic_degree per-video decision", float(bool(ref_move) != bool(ours_move)), f"(ref {ref_move}, ours {ours_move})")


# ---------------------------------------------------------------------------------------------
# 3b. AMT-S — VBench motion smoothness
# ---------------------------------------------------------------------------------------------


def run_amt(a, tmp: Path) -> None:
    from avatar_eval.metrics.functional import vbench as fv
    from avatar_eval.models.amt import amt_interpolate, load_amt_s

    print("\n[AMT-S]  reference: VBench vbench/third_party/amt (MCG-NKU/AMT networks/AMT-S.py as vendored)")
    vbench_setup(a.vbench_repo)
    amt_dir = a.vbench_repo / "vbench" / "third_party" / "amt"
    sys.path.insert(0, str(amt_dir))  # config name 'networks.AMT-S.Model' is resolved from here
    ms = importlib.import_module("vbench.motion_smoothness")
    bu = importlib.import_module("vbench.third_party.amt.utils.build_utils")
    from omegaconf import OmegaConf

    cfg = amt_dir / "cfgs" / "AMT-S.yaml"
    torch.manual_seed(30)
    net = bu.build_from_cfg(OmegaConf.load(cfg).network)
    perturb_(net, 30)
    path = tmp / "amt-s.pth"
    torch.save({"state_dict": net.state_dict()}, path)
    ours = load_amt_s(path)
    net.eval()
    g = torch.Generator().manual_seed(31)
    x0 = torch.rand(1, 3, 128, 192, generator=g)
    x1 = torch.roll(x0, shifts=(1, 2), dims=(2, 3))
    embt = torch.tensor(0.5).view(1, 1, 1, 1)
    with torch.no_grad():
        r = net(x0, x1, embt, scale_factor=1.0, eval=True)["imgt_pred"]
        o = ours(x0, x1, embt)
    report("amt-s", "imgt_pred, random 128x192 pair", maxdiff(r, o))

    motion = ms.MotionSmoothness(str(cfg), str(path), "cpu")  # VBench loader: ckpt['state_dict'], strict
    captured = {}
    orig = motion.vfi_score

    def vfi_score(ori, interp):
        o_ = motion.fp.extract_frame(ori, start_from=1)
        i_ = motion.fp.extract_frame(interp, start_from=1)
        captured["diffs"] = [motion.get_diff(o_[k], i_[k]) for k in range(len(i_))]
        return orig(ori, interp)

    motion.vfi_score = vfi_score
    video = str(a.amt_video or a.video)
    ref_score = motion.motion_score(video)
    frames = read_rgb_frames(video)
    even, odd = frames[0::2], frames[1::2]
    n = len(even) - 1
    diffs = []
    for i in range(0, n, 4):
        j = min(i + 4, n)
        interp = amt_interpolate(ours, even[i:j], even[i + 1:j + 1])
        diffs += [fv.abs_diff_mean(odd[k], interp[k - i]) for k in range(i, j)]
    s = fv.motion_smoothness_score(diffs)
    report("amt-s", f"motion_smoothness per-frame mean|Δ| ({len(diffs)} frames)", maxdiff(captured["diffs"], diffs))
    report("amt-s", "motion_smoothness per-video score", abs(ref_score - s), f"(ref {ref_score:.6f}, ours {s:.6f})")


# ---------------------------------------------------------------------------------------------
# 4a. MUSIQ — VBench imaging quality (the network is pyiqa's on both sides)
# ---------------------------------------------------------------------------------------------


def run_musiq(a, tmp: Path) -> None:
    print("\n[MUSIQ-SPAQ]  reference: chaofengc/IQA-PyTorch pyiqa/archs/musiq_arch.py; VBench vbench/imaging_quality.py transform")
    namespace_package("pyiqa", a.iqa_repo / "pyiqa")
    namespace_package("pyiqa.archs", a.iqa_repo / "pyiqa" / "archs")
    namespace_package("pyiqa.data", a.iqa_repo / "pyiqa" / "data")
    namespace_package("pyiqa.utils", a.iqa_repo / "pyiqa" / "utils")
    mm = importlib.import_module("pyiqa.archs.musiq_arch")
    torch.manual_seed(40)
    net = mm.MUSIQ(pretrained=False)
    perturb_(net, 40)
    with torch.no_grad():
        net.head.weight.mul_(100.0)  # scores of tens, like the real ones
    path = tmp / "musiq_spaq_ckpt.pth"
    torch.save(net.state_dict(), path)  # pyiqa release layout: a plain state dict
    ref = mm.MUSIQ(pretrained_model_path=str(path))  # VBench's construction
    ref.training = False  # VBench's (top-level flag only)
    ours_net = mm.MUSIQ(pretrained="spaq", pretrained_model_path=str(path)).eval()  # pyiqa create_metric('musiq-spaq')
    vbench_setup(a.vbench_repo)
    vu = importlib.import_module("vbench.utils")
    iq = import_file("vbench.imaging_quality", a.vbench_repo / "vbench" / "imaging_quality.py")
    from avatar_eval.metrics.vbench import MusiqSpaqAnalyzer

    video = str(a.musiq_video)
    frames = read_rgb_frames(video)[: a.musiq_frames]
    for mode in ("longer", "shorter_centercrop"):
        # VBench: load_video → transform(images, mode) → one frame per forward
        ref_in = iq.transform(vu.load_video(video)[: a.musiq_frames], mode)
        with torch.no_grad():
            r = torch.stack([ref(ref_in[i:i + 1]).reshape(()) for i in range(len(ref_in))])
            o_same_in = ours_net(ref_in).reshape(-1)
        # ours: the analyzer's own batch code (preprocessing + batched forward)
        seen = {}

        def net_(x):
            seen["x"] = x
            return ours_net(x)

        o = MusiqSpaqAnalyzer.run(types.SimpleNamespace(model=net_, mode=mode, device="cpu"), list(frames))
        check_preprocess(f"musiq [{mode}]", ref_in, seen["x"])
        report("musiq", f"[{mode}] per-frame score, {tuple(ref_in.shape[-2:])}, analyzer vs VBench", maxdiff(r, o),
               f"(ref scores {[round(float(v), 3) for v in r]})")
        report("musiq", f"[{mode}] same input: batched vs one frame per forward", maxdiff(r, o_same_in))


# ---------------------------------------------------------------------------------------------
# 4b. InceptionV3 for FID (pytorch-fid)
# ---------------------------------------------------------------------------------------------


def run_fid(a, tmp: Path) -> None:
    print("\n[InceptionV3 / FID]  reference: mseitzer/pytorch-fid src/pytorch_fid/inception.py (on torchvision.models.inception)")
    from avatar_eval.models.inception import InceptionV3 as OurInception
    from avatar_eval.models.inception import build_fid_inception

    sys.path.insert(0, str(a.fid_repo / "src"))
    fi = importlib.import_module("pytorch_fid.inception")
    # pytorch-fid always loads FID_WEIGHTS_URL; hand it a state dict instead of downloading. The first
    # one has our module's key set: the reference's strict load_state_dict checks that layout.
    sd = {"sd": OurInception(num_classes=1008, fid=True).state_dict()}
    fi.load_state_dict_from_url = lambda *args, **kw: sd["sd"]
    torch.manual_seed(50)
    ref = fi.fid_inception_v3()
    perturb_(ref, 50)
    path = tmp / "pt_inception-2015-12-05-6726825d.pth"
    torch.save(ref.state_dict(), path)
    sd["sd"] = torch.load(path)
    block = fi.InceptionV3([fi.InceptionV3.BLOCK_INDEX_BY_DIM[2048]]).eval()  # resize_input, normalize_input
    ours = build_fid_inception(path)
    g = torch.Generator().manual_seed(51)
    for shape in [(2, 3, 299, 299), (2, 3, 256, 320)]:
        x = torch.rand(shape, generator=g)
        with torch.no_grad():
            r = block(x)[0].squeeze(-1).squeeze(-1)
            o = ours(x)
        report("inception", f"pool3 2048-d, random [0,1] input {shape[2]}x{shape[3]}", maxdiff(r, o),
               f"(|feature| max {float(r.abs().max()):.2f})")

    # torchvision's ImageNet InceptionV3 as JWB-DH builds it (transform_input=False, fc = Identity),
    # and its Resize((299, 299)) + ToTensor + Normalize on PIL images, vs build_torchvision_inception
    # and jwbdh_preprocess (needs torchvision's python sources on the path; its C ops are not used)
    try:
        from torchvision import transforms as T
        from torchvision.models import inception as tvi
    except Exception as e:  # noqa: BLE001
        print(f"  (torchvision.models.inception not importable: {e}; torchvision Inception skipped)")
        return
    from PIL import Image

    from avatar_eval.models.inception import IMAGENET_MEAN, IMAGENET_STD, build_torchvision_inception, jwbdh_preprocess

    torch.manual_seed(52)
    tv = tvi.Inception3(num_classes=1000, aux_logits=True, transform_input=False, init_weights=True)
    perturb_(tv, 52)
    path2 = tmp / "inception_v3_google-0cc3c7bd.pth"
    torch.save(tv.state_dict(), path2)
    tv.fc = torch.nn.Identity()
    tv.eval()
    ours2 = build_torchvision_inception(path2)
    frames = read_rgb_frames(str(a.video))[:4]
    tf = T.Compose([T.Resize((299, 299)), T.ToTensor(), T.Normalize(IMAGENET_MEAN, IMAGENET_STD)])
    ref_in = torch.stack([tf(Image.fromarray(f)) for f in frames])
    our_in = jwbdh_preprocess(frames)
    check_preprocess("tv inception", ref_in, our_in)
    with torch.no_grad():
        report("tv inception", "2048-d avgpool features on real frames", maxdiff(tv(ref_in), ours2(our_in)))


# ---------------------------------------------------------------------------------------------


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--vbench-repo", type=Path)
    ap.add_argument("--dino-repo", type=Path)
    ap.add_argument("--clip-repo", type=Path)
    ap.add_argument("--raft-repo", type=Path, help="princeton-vl/RAFT (optional: VBench's vendored copy is the reference)")
    ap.add_argument("--iqa-repo", type=Path)
    ap.add_argument("--fid-repo", type=Path)
    ap.add_argument("--sys-path", action="append", default=[], help="prepend to sys.path (repeatable)")
    ap.add_argument("--video", type=Path, default=ROOT / "tests/data/jwbdh/halfbody_24f.mp4")
    ap.add_argument("--raft-video", type=Path, default=None)
    ap.add_argument("--amt-video", type=Path, default=None)
    ap.add_argument("--musiq-video", type=Path, default=ROOT / "examples/clips/gt/face5.mp4")
    ap.add_argument("--musiq-frames", type=int, default=4)
    ap.add_argument("--only", default="dino,clip,raft,amt,musiq,fid")
    a = ap.parse_args()
    for p in reversed(a.sys_path):
        sys.path.insert(0, p)
    torch.set_num_threads(max(1, torch.get_num_threads()))
    only = set(a.only.split(","))
    plan = [("dino", run_dino, a.dino_repo), ("clip", run_clip, a.clip_repo), ("raft", run_raft, a.vbench_repo),
            ("amt", run_amt, a.vbench_repo), ("musiq", run_musiq, a.iqa_repo and a.vbench_repo), ("fid", run_fid, a.fid_repo)]
    failed = []
    with tempfile.TemporaryDirectory(prefix="avatar_eval_refeq_") as td:
        for name, fn, needed in plan:
            if name not in only:
                continue
            if not needed:
                print(f"\n[{name}] skipped: reference checkout not given")
                continue
            try:
                fn(a, Path(td))
            except Exception as e:  # noqa: BLE001 - report and go on with the next network
                import traceback

                traceback.print_exc()
                failed.append(f"{name}: {type(e).__name__}: {e}")
    print("\nsummary (max abs difference):")
    for net, what, d, _note in RESULTS:
        print(f"  {net:<16} {what:<58} {d:.3e}")
    for f in failed:
        print("  FAILED", f)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
