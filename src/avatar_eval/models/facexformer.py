"""FaceXFormer (Kartik-3004/facexformer), plain torch, for THEval head-motion dynamics (head pose).

Route: network code written here with the reference's module names so ``model.pt``'s
``state_dict_backbone`` loads strictly: a torchvision ``swin_b`` trunk (``backbone.0`` = its
``features`` stages, ``backbone.1`` = its final norm), ``linear_c.{0..3}.proj``, ``linear_fuse``,
``pe_layer.positional_encoding_gaussian_matrix`` and ``face_decoder.*`` (a SAM-style two-way
transformer with task tokens and MLP heads). torchvision is not needed (and does not import
here): its Swin-B is re-implemented with the same parameter/buffer names.

Head pose: task 2, ``pose_prediction_head`` output in radians → degrees (pitch, yaw, roll). Input
as THEval: the face box crop (PIL), resized to 224² (PIL bicubic), /255, ImageNet normalisation.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from .common import catalog_weight, load_checkpoint, load_strict

WEIGHT = catalog_weight("facexformer")

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


# ---- torchvision Swin-B (v1) with torchvision's names --------------------------------------------

class Permute(nn.Module):
    def __init__(self, dims):
        super().__init__()
        self.dims = dims

    def forward(self, x):
        return x.permute(*self.dims)


class PatchMerging(nn.Module):
    def __init__(self, dim: int):
        super().__init__()
        self.reduction = nn.Linear(4 * dim, 2 * dim, bias=False)
        self.norm = nn.LayerNorm(4 * dim)

    def forward(self, x):
        h, w = x.shape[-3], x.shape[-2]
        x = F.pad(x, (0, 0, 0, w % 2, 0, h % 2))
        x = torch.cat([x[..., 0::2, 0::2, :], x[..., 1::2, 0::2, :], x[..., 0::2, 1::2, :], x[..., 1::2, 1::2, :]], -1)
        return self.reduction(self.norm(x))


class ShiftedWindowAttention(nn.Module):
    def __init__(self, dim: int, window: int, shift: int, heads: int):
        super().__init__()
        self.window, self.shift, self.heads = window, shift, heads
        self.qkv = nn.Linear(dim, dim * 3)
        self.proj = nn.Linear(dim, dim)
        self.relative_position_bias_table = nn.Parameter(torch.zeros((2 * window - 1) ** 2, heads))
        c = torch.stack(torch.meshgrid(torch.arange(window), torch.arange(window), indexing="ij")).flatten(1)
        rel = (c[:, :, None] - c[:, None, :]).permute(1, 2, 0).contiguous()
        rel[:, :, 0] += window - 1
        rel[:, :, 1] += window - 1
        rel[:, :, 0] *= 2 * window - 1
        self.register_buffer("relative_position_index", rel.sum(-1).flatten())

    def forward(self, x):
        B, H, W, C = x.shape
        ws = self.window
        pad_r, pad_b = (ws - W % ws) % ws, (ws - H % ws) % ws
        x = F.pad(x, (0, 0, 0, pad_r, 0, pad_b))
        _, pH, pW, _ = x.shape
        sh = [self.shift, self.shift]
        if ws >= pH:
            sh[0] = 0
        if ws >= pW:
            sh[1] = 0
        if sum(sh) > 0:
            x = torch.roll(x, shifts=(-sh[0], -sh[1]), dims=(1, 2))
        nw = (pH // ws) * (pW // ws)
        x = x.view(B, pH // ws, ws, pW // ws, ws, C).permute(0, 1, 3, 2, 4, 5).reshape(B * nw, ws * ws, C)
        qkv = F.linear(x, self.qkv.weight, self.qkv.bias).reshape(x.size(0), x.size(1), 3, self.heads, C // self.heads).permute(2, 0, 3, 1, 4)
        q, k, v = qkv[0], qkv[1], qkv[2]
        attn = (q * (C // self.heads) ** -0.5).matmul(k.transpose(-2, -1))
        n = ws * ws
        bias = self.relative_position_bias_table[self.relative_position_index].view(n, n, -1).permute(2, 0, 1).contiguous().unsqueeze(0)
        attn = attn + bias
        if sum(sh) > 0:
            mask = x.new_zeros((pH, pW))
            hs = ((0, -ws), (-ws, -sh[0]), (-sh[0], None))
            wss = ((0, -ws), (-ws, -sh[1]), (-sh[1], None))
            cnt = 0
            for a in hs:
                for b in wss:
                    mask[a[0]:a[1], b[0]:b[1]] = cnt
                    cnt += 1
            mask = mask.view(pH // ws, ws, pW // ws, ws).permute(0, 2, 1, 3).reshape(nw, n)
            mask = mask.unsqueeze(1) - mask.unsqueeze(2)
            mask = mask.masked_fill(mask != 0, -100.0).masked_fill(mask == 0, 0.0)
            attn = attn.view(x.size(0) // nw, nw, self.heads, n, n) + mask.unsqueeze(1).unsqueeze(0)
            attn = attn.view(-1, self.heads, n, n)
        x = F.softmax(attn, dim=-1).matmul(v).transpose(1, 2).reshape(x.size(0), n, C)
        x = F.linear(x, self.proj.weight, self.proj.bias)
        x = x.view(B, pH // ws, pW // ws, ws, ws, C).permute(0, 1, 3, 2, 4, 5).reshape(B, pH, pW, C)
        if sum(sh) > 0:
            x = torch.roll(x, shifts=(sh[0], sh[1]), dims=(1, 2))
        return x[:, :H, :W, :].contiguous()


class SwinBlock(nn.Module):
    def __init__(self, dim: int, heads: int, window: int, shift: int):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)
        self.attn = ShiftedWindowAttention(dim, window, shift, heads)
        self.norm2 = nn.LayerNorm(dim)
        # torchvision MLP: Linear, GELU, Dropout, Linear, Dropout → keys mlp.0, mlp.3
        self.mlp = nn.Sequential(nn.Linear(dim, 4 * dim), nn.GELU(), nn.Dropout(0.0), nn.Linear(4 * dim, dim), nn.Dropout(0.0))

    def forward(self, x):
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


def swin_features(embed_dim: int = 128, depths=(2, 2, 18, 2), heads=(4, 8, 16, 32), window: int = 7) -> nn.Sequential:
    layers: list[nn.Module] = [nn.Sequential(nn.Conv2d(3, embed_dim, 4, 4), Permute([0, 2, 3, 1]), nn.LayerNorm(embed_dim))]
    for i, d in enumerate(depths):
        dim = embed_dim * 2 ** i
        layers.append(nn.Sequential(*[SwinBlock(dim, heads[i], window, 0 if k % 2 == 0 else window // 2) for k in range(d)]))
        if i < len(depths) - 1:
            layers.append(PatchMerging(dim))
    return nn.Sequential(*layers)


# ---- decoder (SAM two-way transformer) ----------------------------------------------------------

class LayerNorm2d(nn.Module):
    def __init__(self, c: int, eps: float = 1e-6):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(c))
        self.bias = nn.Parameter(torch.zeros(c))
        self.eps = eps

    def forward(self, x):
        u = x.mean(1, keepdim=True)
        s = (x - u).pow(2).mean(1, keepdim=True)
        return self.weight[:, None, None] * ((x - u) / torch.sqrt(s + self.eps)) + self.bias[:, None, None]


class Attention(nn.Module):
    def __init__(self, dim: int, heads: int, downsample: int = 1):
        super().__init__()
        self.heads = heads
        inner = dim // downsample
        self.q_proj = nn.Linear(dim, inner)
        self.k_proj = nn.Linear(dim, inner)
        self.v_proj = nn.Linear(dim, inner)
        self.out_proj = nn.Linear(inner, dim)

    def _split(self, x):
        b, n, c = x.shape
        return x.reshape(b, n, self.heads, c // self.heads).transpose(1, 2)

    def forward(self, q, k, v):
        q, k, v = self._split(self.q_proj(q)), self._split(self.k_proj(k)), self._split(self.v_proj(v))
        attn = torch.softmax((q @ k.permute(0, 1, 3, 2)) / math.sqrt(q.shape[-1]), dim=-1)
        out = attn @ v
        b, h, n, c = out.shape
        return self.out_proj(out.transpose(1, 2).reshape(b, n, h * c))


class MLPBlock(nn.Module):
    def __init__(self, dim: int, hidden: int):
        super().__init__()
        self.lin1 = nn.Linear(dim, hidden)
        self.lin2 = nn.Linear(hidden, dim)
        self.act = nn.ReLU()

    def forward(self, x):
        return self.lin2(self.act(self.lin1(x)))


class TwoWayAttentionBlock(nn.Module):
    def __init__(self, dim: int, heads: int, mlp_dim: int, skip_first_layer_pe: bool):
        super().__init__()
        self.self_attn = Attention(dim, heads)
        self.norm1 = nn.LayerNorm(dim)
        self.cross_attn_token_to_image = Attention(dim, heads, 2)
        self.norm2 = nn.LayerNorm(dim)
        self.mlp = MLPBlock(dim, mlp_dim)
        self.norm3 = nn.LayerNorm(dim)
        self.norm4 = nn.LayerNorm(dim)
        self.cross_attn_image_to_token = Attention(dim, heads, 2)
        self.skip = skip_first_layer_pe

    def forward(self, queries, keys, query_pe, key_pe):
        if self.skip:
            queries = self.self_attn(queries, queries, queries)
        else:
            q = queries + query_pe
            queries = queries + self.self_attn(q, q, queries)
        queries = self.norm1(queries)
        q, k = queries + query_pe, keys + key_pe
        queries = self.norm2(queries + self.cross_attn_token_to_image(q, k, keys))
        queries = self.norm3(queries + self.mlp(queries))
        q, k = queries + query_pe, keys + key_pe
        keys = self.norm4(keys + self.cross_attn_image_to_token(k, q, queries))
        return queries, keys


class TwoWayTransformer(nn.Module):
    def __init__(self, depth: int = 2, dim: int = 256, heads: int = 8, mlp_dim: int = 2048):
        super().__init__()
        self.layers = nn.ModuleList([TwoWayAttentionBlock(dim, heads, mlp_dim, i == 0) for i in range(depth)])
        self.final_attn_token_to_image = Attention(dim, heads, 2)
        self.norm_final_attn = nn.LayerNorm(dim)

    def forward(self, image_embedding, image_pe, point_embedding):
        keys = image_embedding.flatten(2).permute(0, 2, 1)
        pe = image_pe.flatten(2).permute(0, 2, 1)
        queries = point_embedding
        for layer in self.layers:
            queries, keys = layer(queries, keys, point_embedding, pe)
        q, k = queries + point_embedding, keys + pe
        queries = self.norm_final_attn(queries + self.final_attn_token_to_image(q, k, keys))
        return queries, keys


class MLP(nn.Module):
    def __init__(self, cin: int, hidden: int, cout: int, n: int):
        super().__init__()
        h = [hidden] * (n - 1)
        self.layers = nn.ModuleList(nn.Linear(a, b) for a, b in zip([cin] + h, h + [cout]))

    def forward(self, x):
        for i, layer in enumerate(self.layers):
            x = F.relu(layer(x)) if i < len(self.layers) - 1 else layer(x)
        return x


class FaceDecoder(nn.Module):
    def __init__(self, dim: int = 256):
        super().__init__()
        self.transformer = TwoWayTransformer(2, dim, 8, 2048)
        for t in ("landmarks", "pose", "attribute", "visibility", "age", "gender", "race"):
            setattr(self, f"{t}_token", nn.Embedding(1, dim))
        self.mask_tokens = nn.Embedding(11, dim)
        self.output_upscaling = nn.Sequential(nn.ConvTranspose2d(dim, dim // 4, 2, 2), LayerNorm2d(dim // 4), nn.GELU(),
                                              nn.ConvTranspose2d(dim // 4, dim // 8, 2, 2), nn.GELU())
        self.output_hypernetwork_mlps = MLP(dim, dim, dim // 8, 3)
        self.landmarks_prediction_head = MLP(dim, dim, 136, 3)
        self.pose_prediction_head = MLP(dim, dim, 3, 3)
        self.attribute_prediction_head = MLP(dim, dim, 40, 3)
        self.visibility_prediction_head = MLP(dim, dim, 29, 3)
        self.age_prediction_head = MLP(dim, dim, 8, 3)
        self.gender_prediction_head = MLP(dim, dim, 2, 3)
        self.race_prediction_head = MLP(dim, dim, 5, 3)

    def pose(self, image_embeddings, image_pe):
        tokens = torch.cat([self.landmarks_token.weight, self.pose_token.weight, self.attribute_token.weight,
                            self.visibility_token.weight, self.age_token.weight, self.gender_token.weight,
                            self.race_token.weight, self.mask_tokens.weight], dim=0)
        tokens = tokens.unsqueeze(0).expand(image_embeddings.size(0), -1, -1)
        hs, _ = self.transformer(image_embeddings, image_pe.expand(image_embeddings.size(0), -1, -1, -1), tokens)
        return self.pose_prediction_head(hs[:, 1, :])


class PositionEmbeddingRandom(nn.Module):
    def __init__(self, num_pos_feats: int = 128):
        super().__init__()
        self.register_buffer("positional_encoding_gaussian_matrix", torch.randn((2, num_pos_feats)))

    def forward(self, h: int, w: int):
        g = torch.ones((h, w), device=self.positional_encoding_gaussian_matrix.device, dtype=torch.float32)
        y = (g.cumsum(0) - 0.5) / h
        x = (g.cumsum(1) - 0.5) / w
        c = 2 * torch.stack([x, y], dim=-1) - 1
        c = 2 * np.pi * (c @ self.positional_encoding_gaussian_matrix)
        return torch.cat([torch.sin(c), torch.cos(c)], dim=-1).permute(2, 0, 1)


class FaceXFormerMLP(nn.Module):
    def __init__(self, cin: int):
        super().__init__()
        self.proj = nn.Linear(cin, 256)

    def forward(self, x):
        return self.proj(x.flatten(2).transpose(1, 2))


class FaceXFormer(nn.Module):
    def __init__(self, embed_dim: int = 128, depths=(2, 2, 18, 2), heads=(4, 8, 16, 32)):
        super().__init__()
        feats = swin_features(embed_dim, depths, heads)
        self.backbone = nn.Sequential(feats, nn.LayerNorm(embed_dim * 8))
        self.pe_layer = PositionEmbeddingRandom(128)
        self.face_decoder = FaceDecoder(256)
        hidden = [embed_dim * 2 ** i for i in range(4)]
        self.linear_c = nn.ModuleList([FaceXFormerMLP(h) for h in hidden])
        self.linear_fuse = nn.Conv2d(256 * 4, 256, 1, bias=False)

    @torch.no_grad()
    def headpose(self, x: torch.Tensor) -> torch.Tensor:
        """(N, 3) pitch, yaw, roll in radians."""
        feats = []
        h = x
        for i, m in enumerate(self.backbone[0]):
            h = m(h)
            if i in (1, 3, 5, 7):
                feats.append(h.permute(0, 3, 1, 2).contiguous())
        b = feats[-1].shape[0]
        size = feats[0].shape[2:]
        hidden = []
        for f, mlp in zip(feats, self.linear_c):
            hh, ww = f.shape[2], f.shape[3]
            e = mlp(f).permute(0, 2, 1).reshape(b, -1, hh, ww)
            hidden.append(F.interpolate(e, size=size, mode="bilinear", align_corners=False))
        fused = self.linear_fuse(torch.cat(hidden[::-1], dim=1))
        pe = self.pe_layer(fused.shape[2], fused.shape[3]).unsqueeze(0)
        return self.face_decoder.pose(fused, pe)


def load_facexformer(path: str | Path, device: str = "cpu", **arch) -> FaceXFormer:
    model = FaceXFormer(**arch)
    load_strict(model, load_checkpoint(path, key="state_dict_backbone"), what="FaceXFormer")
    return model.eval().to(device)


def theval_face_tensor(crops: list[np.ndarray]) -> torch.Tensor:
    """THEval head_motion_dynamics transform: PIL Resize((224, 224), BICUBIC), ToTensor, ImageNet norm."""
    from PIL import Image

    out = []
    for c in crops:
        im = np.asarray(Image.fromarray(np.ascontiguousarray(c)).resize((224, 224), Image.BICUBIC), dtype=np.float32) / 255.0
        im = (im - np.array(IMAGENET_MEAN, dtype=np.float32)) / np.array(IMAGENET_STD, dtype=np.float32)
        out.append(torch.from_numpy(im.transpose(2, 0, 1).copy()))
    return torch.stack(out)
