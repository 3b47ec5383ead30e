"""Every network's loading path with tiny weights written in the real files' layout (key names,
nesting, prefixes, containers), plus the refusal paths: absent file, sha256 mismatch, wrong layout."""

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
import torch

from avatar_eval.errors import WeightsUnavailable
from avatar_eval.models import common as C


def _sha(p: Path) -> str:
    return hashlib.sha256(p.read_bytes()).hexdigest()


# ---- resolution: absent file, sha256 mismatch, explicit path ----------------------------------------

def test_absent_weight_is_unavailable(tmp_path):
    with pytest.raises(WeightsUnavailable) as e:
        C.weight_path("syncnet_v2")
    assert "syncnet_v2" in str(e.value)
    with pytest.raises(WeightsUnavailable):
        C.weight_path("dino_vitb16", tmp_path / "nope.pth")


def test_sha256_mismatch_is_refused(tmp_path):
    from avatar_eval.weights import WeightSpec, register_weight

    good = tmp_path / "head.pth"
    torch.save({"weight": torch.zeros(1, 768), "bias": torch.zeros(1)}, good)
    register_weight(WeightSpec(name="test-laion-sha", filename="head.pth", url="https://example.invalid/head.pth", sha256=_sha(good)))
    assert C.weight_path("test-laion-sha", good) == good
    bad = tmp_path / "other.pth"
    torch.save({"weight": torch.ones(1, 768), "bias": torch.zeros(1)}, bad)
    with pytest.raises(WeightsUnavailable, match="sha256"):
        C.weight_path("test-laion-sha", bad)


def test_catalog_sha_is_enforced_for_clip(tmp_path):
    f = tmp_path / "ViT-B-32.pt"
    f.write_bytes(b"not the OpenAI archive")
    with pytest.raises(WeightsUnavailable, match="sha256"):
        C.weight_path("clip_vit_b32", f)


def test_wrong_layout_is_refused():
    lin = torch.nn.Linear(4, 2)
    with pytest.raises(WeightsUnavailable, match="missing bias"):
        C.load_strict(lin, {"weight": torch.zeros(2, 4)}, what="x")
    with pytest.raises(WeightsUnavailable, match="shape mismatch"):
        C.load_strict(lin, {"weight": torch.zeros(3, 4), "bias": torch.zeros(2)}, what="x")
    with pytest.raises(WeightsUnavailable, match="unexpected extra"):
        C.load_strict(lin, {"weight": torch.zeros(2, 4), "bias": torch.zeros(2), "extra": torch.zeros(1)}, what="x")


# ---- per network -----------------------------------------------------------------------------------

def test_dino_checkpoint_layout(tmp_path):
    from avatar_eval.models.dino import VITB16, DinoViT, ViTArch, load_dino, vbench_dino_preprocess

    with torch.device("meta"):
        real = DinoViT(VITB16).state_dict()
    assert real["pos_embed"].shape == (1, 197, 768) and real["patch_embed.proj.weight"].shape == (768, 3, 16, 16)
    assert "blocks.11.attn.qkv.weight" in real and "norm.weight" in real and len(real) == 4 + 12 * 12 + 2
    tiny = ViTArch(embed_dim=24, depth=2, num_heads=2, patch_size=16, img_size=64)
    src = DinoViT(tiny)
    f = tmp_path / "dino_vitbase16_pretrain.pth"
    torch.save(src.state_dict(), f)
    m = load_dino(f, tiny)
    x = vbench_dino_preprocess(np.random.default_rng(0).integers(0, 255, (2, 96, 160, 3), dtype=np.uint8), 64)
    assert tuple(x.shape) == (2, 3, 64, 106)  # short side → 64, long = int(64·160/96)
    with torch.no_grad():
        out = m(x)
        assert out.shape == (2, 24)
        torch.testing.assert_close(out, src.eval()(x))
    sd = src.state_dict()
    sd.pop("norm.bias")
    torch.save(sd, f)
    with pytest.raises(WeightsUnavailable, match="norm.bias"):
        load_dino(f, tiny)


def test_clip_torchscript_archive_layout(tmp_path):
    from avatar_eval.models.clip import ClipArch, ClipImageEncoder, load_clip

    tiny = ClipArch(width=32, layers=2, heads=2, patch_size=16, output_dim=8, input_resolution=64)

    class FullClip(torch.nn.Module):  # visual tower + a stand-in text tower, as in OpenAI's archive
        def __init__(self):
            super().__init__()
            self.visual = ClipImageEncoder(tiny).visual
            self.token_embedding = torch.nn.Embedding(10, 32)
            self.logit_scale = torch.nn.Parameter(torch.ones([]))

        def forward(self, x):
            return self.visual(x)

    src = FullClip().eval()
    for p in src.parameters():
        p.data = p.data.half().float()  # OpenAI's tensors are fp16
    f = tmp_path / "ViT-B-32.pt"
    torch.jit.save(torch.jit.trace(src, torch.zeros(1, 3, 64, 64)), str(f))
    m = load_clip(f, tiny, "cpu")
    x = torch.randn(2, 3, 64, 64)
    torch.testing.assert_close(m(x), src(x), rtol=1e-4, atol=1e-4)
    sd = {k: v for k, v in src.state_dict().items() if k != "visual.proj"}
    g = tmp_path / "broken.pt"
    torch.save(sd, g)
    with pytest.raises(WeightsUnavailable, match="visual.proj"):
        load_clip(g, tiny)


def _vbench_float_resize(img: np.ndarray, size: tuple[int, int], mode: str) -> torch.Tensor:
    """What VBench's Resize computes on ``load_video``'s output: ``torch.Tensor(frames)`` is a
    float32 tensor (not uint8), so torchvision's resize is one interpolate with no clamp and no
    rounding back to uint8."""
    x = torch.Tensor(img).permute(0, 3, 1, 2)
    assert x.dtype == torch.float32  # the legacy constructor VBench uses makes floats from uint8
    return torch.nn.functional.interpolate(x, size=size, mode=mode, align_corners=False)


def test_clip_preprocess_matches_vbench_float_path():
    from avatar_eval.models.clip import CLIP_MEAN, CLIP_STD, vbench_clip_preprocess

    rng = np.random.default_rng(1)
    img = rng.integers(0, 255, (1, 288, 512, 3), dtype=np.uint8)
    img[0, ::2, ::2] = 255  # hard edges: bicubic overshoots past [0, 255]
    img[0, 1::2, 1::2] = 0
    x = vbench_clip_preprocess(img)
    assert tuple(x.shape) == (1, 3, 224, 224)
    # resize 288×512 → 224×398 (int(224·512/288)), centre crop left = round((398 − 224)/2) = 87
    r = _vbench_float_resize(img, (224, 398), "bicubic")[..., 87:87 + 224]
    back = (x[0] * torch.tensor(CLIP_STD).view(3, 1, 1) + torch.tensor(CLIP_MEAN).view(3, 1, 1)) * 255
    torch.testing.assert_close(back, r[0], rtol=0, atol=2e-3)
    # the VBench numbers keep fractions and the bicubic overshoot: no uint8 rounding, no clamp
    assert float((back - back.round()).abs().max()) > 0.1
    assert float(back.min()) < -1.0 and float(back.max()) > 256.0


def test_dino_preprocess_matches_vbench_float_path():
    from avatar_eval.models.dino import IMAGENET_MEAN, IMAGENET_STD, vbench_dino_preprocess

    img = np.random.default_rng(2).integers(0, 255, (2, 240, 454, 3), dtype=np.uint8)
    x = vbench_dino_preprocess(img)
    assert tuple(x.shape) == (2, 3, 224, 423)  # short side 224, long int(224·454/240), no crop
    r = _vbench_float_resize(img, (224, 423), "bilinear") / 255.0
    r = (r - torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)) / torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)
    torch.testing.assert_close(x, r, rtol=0, atol=1e-5)
    # a rounded (uint8) resize would be up to half a level off: 0.5/255/0.225 ≈ 8.7e-3
    from avatar_eval.models.common import to_tensor_uint8, tv_resize_uint8

    q = tv_resize_uint8(to_tensor_uint8(img), (224, 423), "bilinear").float() / 255.0
    q = (q - torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)) / torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)
    assert float((q - r).abs().max()) > 5e-3


def test_musiq_analyzer_preprocess_matches_vbench_float_path():
    import types

    from avatar_eval.metrics.vbench import MusiqSpaqAnalyzer

    img = np.random.default_rng(3).integers(0, 255, (2, 300, 700, 3), dtype=np.uint8)
    seen = {}

    def model(x):
        seen["x"] = x
        return torch.zeros(x.shape[0], 1)

    MusiqSpaqAnalyzer.run(types.SimpleNamespace(model=model, mode="longer", device="cpu"), list(img))
    # VBench imaging_quality.transform('longer'): Resize((int(s·h), int(s·w))) on floats, then /255
    r = _vbench_float_resize(img, (int(512 / 700 * 300), 512), "bilinear") / 255.0
    torch.testing.assert_close(seen["x"], r, rtol=0, atol=1e-6)
    big = np.random.default_rng(4).integers(0, 255, (1, 600, 800, 3), dtype=np.uint8)
    MusiqSpaqAnalyzer.run(types.SimpleNamespace(model=model, mode="shorter_centercrop", device="cpu"), list(big))
    r = _vbench_float_resize(big, (512, 682), "bilinear")[..., :, 85:85 + 512] / 255.0  # CenterCrop(512)
    torch.testing.assert_close(seen["x"], r, rtol=0, atol=1e-6)


def test_laion_head_layout(tmp_path):
    from avatar_eval.models.laion import aesthetic_scores, load_laion_head

    f = tmp_path / "sa_0_4_vit_l_14_linear.pth"
    torch.save({"weight": torch.full((1, 768), 0.5), "bias": torch.tensor([1.0])}, f)
    head = load_laion_head(f)
    e = torch.zeros(1, 768)
    e[0, 0] = 3.0  # normalised to a unit vector
    assert aesthetic_scores(e, head).item() == pytest.approx(1.5)
    torch.save({"linear.weight": torch.zeros(1, 768), "linear.bias": torch.zeros(1)}, f)
    with pytest.raises(WeightsUnavailable):
        load_laion_head(f)


def test_raft_dataparallel_layout(tmp_path):
    from avatar_eval.models.raft import RAFT, load_raft, raft_flow_pairs, sintel_pad

    src = RAFT()
    sd = src.state_dict()
    assert "cnet.layer2.0.norm3.running_mean" in sd and "cnet.layer2.0.downsample.1.running_mean" in sd
    assert sd["update_block.mask.2.weight"].shape == (576, 256, 1, 1)
    f = tmp_path / "raft-things.pth"
    torch.save({"module." + k: v for k, v in sd.items()}, f)
    m = load_raft(f)
    assert sintel_pad(100, 60) == [2, 2, 2, 2]
    a = np.random.default_rng(2).integers(0, 255, (1, 68, 84, 3), dtype=np.uint8)
    flow = raft_flow_pairs(m, a, a, iters=2)
    assert flow.shape == (1, 2, 72, 88)  # padded to multiples of 8, as VBench scores it
    torch.save(sd, f)  # keys without the prefix load too (VBench strips it)
    load_raft(f)


def test_amt_state_dict_entry(tmp_path):
    from avatar_eval.models.amt import AMTS, amt_interpolate, load_amt_s, pad16

    src = AMTS()
    sd = src.state_dict()
    assert "feat_encoder.layer2.0.norm4.weight" not in sd  # instance norms carry no tensors
    assert sd["comb_block.0.weight"].shape == (18, 9, 3, 3) and "decoder1.convblock.2.weight" in sd
    f = tmp_path / "amt-s.pth"
    torch.save({"state_dict": sd, "epoch": 300}, f)
    m = load_amt_s(f)
    assert pad16(36, 44) == [2, 2, 6, 6] and pad16(68, 84) == [6, 6, 6, 6]
    a = np.random.default_rng(3).integers(0, 255, (2, 68, 84, 3), dtype=np.uint8)
    out = amt_interpolate(m, a, a[::-1])
    assert out.shape == a.shape and out.dtype == np.uint8
    torch.save(sd, f)  # the state dict must sit under "state_dict"
    with pytest.raises(WeightsUnavailable, match="state_dict"):
        load_amt_s(f)


def test_syncnet_layout_and_shapes(tmp_path):
    from avatar_eval.models.syncnet import SyncNet, load_syncnet

    src = SyncNet()
    sd = src.state_dict()
    assert sd["netcnnaud.0.weight"].shape == (64, 1, 3, 3) and sd["netcnnlip.0.weight"].shape == (96, 3, 5, 7, 7)
    assert sd["netfcaud.3.weight"].shape == (1024, 512) and "netcnnlip.19.running_var" in sd and sd["netcnnaud.18.weight"].shape == (512, 256, 5, 4)
    f = tmp_path / "syncnet_v2.model"
    torch.save(sd, f)
    m = load_syncnet(f)
    assert m.forward_lip(torch.rand(2, 3, 5, 224, 224) * 255).shape == (2, 1024)
    assert m.forward_aud(torch.randn(3, 1, 13, 20)).shape == (3, 1024)


def test_s3fd_layout_and_detection_plumbing(tmp_path):
    from avatar_eval.models.syncnet import S3FDNet, load_s3fd, nms_py

    src = S3FDNet()
    sd = src.state_dict()
    assert sd["L2Norm3_3.weight"].shape == (256,) and sd["conf.0.weight"].shape == (4, 256, 3, 3)
    assert sd["vgg.31.weight"].shape == (1024, 512, 3, 3) and sd["vgg.33.weight"].shape == (1024, 1024, 1, 1) and sd["extras.3.weight"].shape == (256, 128, 3, 3)
    f = tmp_path / "sfd_face.pth"
    torch.save(sd, f)
    det = load_s3fd(f)
    boxes = det.detect_faces(np.zeros((160, 160, 3), np.uint8), conf_th=0.9, scales=[0.25])
    assert boxes.shape[1] == 5
    # priors: one per cell of each of the 6 maps (strides 4..128)
    loc, prob, pri = det.net.heads(torch.zeros(1, 3, 64, 64))
    assert pri.shape[0] == loc.shape[1] == 16 * 16 + 8 * 8 + 4 * 4 + 2 * 2 + 1 + 1
    d = np.array([[0, 0, 10, 10, 0.9], [1, 1, 10, 10, 0.95], [50, 50, 60, 60, 0.8]])
    assert nms_py(d, 0.1) == [1, 2]


def test_dinov2_directory_and_file(tmp_path):
    from safetensors.torch import save_file
    from transformers import Dinov2Model

    from avatar_eval.models.dinov2 import Dinov2Arch, dinov2_config, dinov2_preprocess, load_dinov2

    tiny = Dinov2Arch(hidden_size=32, num_hidden_layers=1, num_attention_heads=2, image_size=28)
    cfg = dinov2_config(tiny)
    src = Dinov2Model(cfg).eval()
    # facebook/dinov2-* files use the older attention key names
    ren = {"attention.q_proj": "attention.attention.query", "attention.k_proj": "attention.attention.key",
           "attention.v_proj": "attention.attention.value", "attention.o_proj": "attention.output.dense"}
    old = {}
    for k, v in src.state_dict().items():
        for a, b in ren.items():
            k = k.replace(a, b)
        old[k] = v.clone().contiguous()
    d = tmp_path / "dinov2-base"
    d.mkdir()
    save_file(old, str(d / "model.safetensors"))
    cfg.save_pretrained(str(d))
    x = dinov2_preprocess([np.random.default_rng(4).integers(0, 255, (300, 200, 3), dtype=np.uint8)])
    assert tuple(x.shape) == (1, 3, 224, 224)
    m = load_dinov2(d, tiny)
    with torch.no_grad():
        torch.testing.assert_close(m(x), src(pixel_values=x).pooler_output)
    m2 = load_dinov2(d / "model.safetensors", tiny)  # one file + the fixed config
    with torch.no_grad():
        torch.testing.assert_close(m2(x), src(pixel_values=x).pooler_output)
    old.pop("layernorm.weight")
    save_file(old, str(d / "model.safetensors"))
    with pytest.raises(WeightsUnavailable):
        load_dinov2(d, tiny)


def test_facexformer_layout(tmp_path):
    from avatar_eval.models.facexformer import FaceXFormer, load_facexformer, theval_face_tensor

    with torch.device("meta"):
        real = FaceXFormer().state_dict()
    assert real["backbone.0.0.0.weight"].shape == (128, 3, 4, 4)
    assert real["backbone.0.7.1.attn.relative_position_bias_table"].shape == (169, 32)
    assert real["backbone.0.5.17.mlp.3.weight"].shape == (512, 2048) and real["backbone.1.weight"].shape == (1024,)
    assert real["pe_layer.positional_encoding_gaussian_matrix"].shape == (2, 128)
    assert real["linear_fuse.weight"].shape == (256, 1024, 1, 1)
    tiny = dict(embed_dim=16, depths=(2, 2, 2, 2), heads=(1, 2, 2, 4))
    src = FaceXFormer(**tiny).eval()
    f = tmp_path / "model.pt"
    torch.save({"state_dict_backbone": src.state_dict(), "epoch": 1}, f)
    m = load_facexformer(f, **tiny)
    x = theval_face_tensor([np.full((50, 40, 3), 128, np.uint8), np.zeros((224, 224, 3), np.uint8)])
    assert tuple(x.shape) == (2, 3, 224, 224)
    pose = m.headpose(x)
    assert pose.shape == (2, 3) and torch.isfinite(pose).all()
    torch.save(src.state_dict(), f)
    with pytest.raises(WeightsUnavailable, match="state_dict_backbone"):
        load_facexformer(f, **tiny)


def test_pyiqa_route_reports_unavailable_without_pyiqa(tmp_path):
    pytest.importorskip("torch")
    try:
        import pyiqa  # noqa: F401
        pytest.skip("pyiqa imports here: its route is exercised by the gpu/reference test")
    except Exception:
        pass
    from avatar_eval.models.musiq import load_musiq

    f = tmp_path / "musiq_spaq_ckpt-358bb6af.pth"
    torch.save({}, f)
    with pytest.raises(WeightsUnavailable, match=r"avatar-eval\[iqa\]"):
        load_musiq("musiq_spaq", f)


def test_qalign_needs_a_model_directory(tmp_path):
    from avatar_eval.models.qalign import load_qalign

    with pytest.raises(WeightsUnavailable):
        load_qalign(tmp_path)
    (tmp_path / "config.json").write_text(json.dumps({"model_type": "mplug_owl2"}))
    with pytest.raises(WeightsUnavailable):
        load_qalign(tmp_path)
