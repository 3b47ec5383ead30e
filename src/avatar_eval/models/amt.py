"""AMT-S frame interpolation (MCG-NKU/AMT, as vendored by VBench), plain torch.

Route: network code written here with the reference's module names so ``amt-s.pth`` loads
strictly from its ``state_dict`` entry (no pip package carries AMT). Configuration AMT-S:
corr radius 3, 4 levels, 3 flows, channels (20, 32, 44, 56), skip 20, feature encoder dim 84.

Inference as VBench ``motion_smoothness``: frames /255, padded to a multiple of 16 (replicate,
split evenly), ``embt = 0.5``, ``scale_factor = 1`` (VBench's CPU setting, and its GPU setting
whenever the GPU has enough memory for the frame size), output clamped to [0, 1], unpadded, then
``(x·255).astype(uint8)`` (truncation).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from .common import catalog_weight, load_checkpoint, load_strict
from .raft import bilinear_sampler, coords_grid, window_deltas

WEIGHT = catalog_weight("amt_s")


def resize(x: torch.Tensor, scale_factor: float) -> torch.Tensor:
    return F.interpolate(x, scale_factor=scale_factor, mode="bilinear", align_corners=False)


def warp(img: torch.Tensor, flow: torch.Tensor) -> torch.Tensor:
    """Backward warp with a pixel flow (align_corners=True grid, border padding)."""
    b, _, h, w = flow.shape
    xx = torch.linspace(-1.0, 1.0, w).view(1, 1, 1, w).expand(b, -1, h, -1)
    yy = torch.linspace(-1.0, 1.0, h).view(1, 1, h, 1).expand(b, -1, -1, w)
    grid = torch.cat([xx, yy], 1).to(img)
    fl = torch.cat([flow[:, 0:1] / ((w - 1.0) / 2.0), flow[:, 1:2] / ((h - 1.0) / 2.0)], 1)
    return F.grid_sample(img, (grid + fl).permute(0, 2, 3, 1), mode="bilinear", padding_mode="border", align_corners=True)


# ---- feature encoder (RAFT small encoder with bottlenecks, instance norm) ----------------------

class BottleneckBlock(nn.Module):
    def __init__(self, cin: int, planes: int, stride: int = 1):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, planes // 4, 1, padding=0)
        self.conv2 = nn.Conv2d(planes // 4, planes // 4, 3, padding=1, stride=stride)
        self.conv3 = nn.Conv2d(planes // 4, planes, 1, padding=0)
        self.relu = nn.ReLU(inplace=True)
        self.norm1 = nn.InstanceNorm2d(planes // 4)
        self.norm2 = nn.InstanceNorm2d(planes // 4)
        self.norm3 = nn.InstanceNorm2d(planes)
        if stride != 1:
            self.norm4 = nn.InstanceNorm2d(planes)
            self.downsample = nn.Sequential(nn.Conv2d(cin, planes, 1, stride=stride), self.norm4)
        else:
            self.downsample = None

    def forward(self, x):
        y = self.relu(self.norm1(self.conv1(x)))
        y = self.relu(self.norm2(self.conv2(y)))
        y = self.relu(self.norm3(self.conv3(y)))
        if self.downsample is not None:
            x = self.downsample(x)
        return self.relu(x + y)


class SmallEncoder(nn.Module):
    def __init__(self, output_dim: int = 84):
        super().__init__()
        self.norm1 = nn.InstanceNorm2d(32)
        self.conv1 = nn.Conv2d(3, 32, 7, stride=2, padding=3)
        self.relu1 = nn.ReLU(inplace=True)
        self.layer1 = nn.Sequential(BottleneckBlock(32, 32, 1), BottleneckBlock(32, 32, 1))
        self.layer2 = nn.Sequential(BottleneckBlock(32, 64, 2), BottleneckBlock(64, 64, 1))
        self.layer3 = nn.Sequential(BottleneckBlock(64, 96, 2), BottleneckBlock(96, 96, 1))
        self.conv2 = nn.Conv2d(96, output_dim, 1)

    def forward(self, x):
        x = self.relu1(self.norm1(self.conv1(x)))
        return self.conv2(self.layer3(self.layer2(self.layer1(x))))


# ---- IFRNet-style pyramid and decoders --------------------------------------------------------

def convrelu(cin: int, cout: int, k: int = 3, s: int = 1, p: int = 1) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, k, s, p, bias=True), nn.PReLU(cout))


class ResBlock(nn.Module):
    def __init__(self, cin: int, side: int):
        super().__init__()
        self.side = side
        self.conv1 = convrelu(cin, cin)
        self.conv2 = convrelu(side, side)
        self.conv3 = convrelu(cin, cin)
        self.conv4 = convrelu(side, side)
        self.conv5 = nn.Conv2d(cin, cin, 3, 1, 1, bias=True)
        self.prelu = nn.PReLU(cin)

    def forward(self, x):
        s = self.side
        out = self.conv1(x)
        out = self.conv3(torch.cat([out[:, :-s], self.conv2(out[:, -s:])], 1))
        out = self.conv5(torch.cat([out[:, :-s], self.conv4(out[:, -s:])], 1))
        return self.prelu(x + out)


class Encoder(nn.Module):
    def __init__(self, channels: list[int]):
        super().__init__()
        self.n = len(channels)
        prev = 3
        for i, ch in enumerate(channels, 1):
            self.add_module(f"pyramid{i}", nn.Sequential(convrelu(prev, ch, 3, 2, 1), convrelu(ch, ch, 3, 1, 1)))
            prev = ch

    def forward(self, x):
        fs = []
        for i in range(self.n):
            x = getattr(self, f"pyramid{i + 1}")(x)
            fs.append(x)
        return fs


class InitDecoder(nn.Module):
    def __init__(self, cin: int, cout: int, skip: int):
        super().__init__()
        self.convblock = nn.Sequential(convrelu(cin * 2 + 1, cin * 2), ResBlock(cin * 2, skip),
                                       nn.ConvTranspose2d(cin * 2, cout + 4, 4, 2, 1, bias=True))

    def forward(self, f0, f1, embt):
        h, w = f0.shape[2:]
        out = self.convblock(torch.cat([f0, f1, embt.repeat(1, 1, h, w)], 1))
        flow0, flow1 = torch.chunk(out[:, :4], 2, 1)
        return flow0, flow1, out[:, 4:]


class IntermediateDecoder(nn.Module):
    def __init__(self, cin: int, cout: int, skip: int):
        super().__init__()
        self.convblock = nn.Sequential(convrelu(cin * 3 + 4, cin * 3), ResBlock(cin * 3, skip),
                                       nn.ConvTranspose2d(cin * 3, cout + 4, 4, 2, 1, bias=True))

    def forward(self, ft, f0, f1, flow0_in, flow1_in):
        out = self.convblock(torch.cat([ft, warp(f0, flow0_in), warp(f1, flow1_in), flow0_in, flow1_in], 1))
        flow0, flow1 = torch.chunk(out[:, :4], 2, 1)
        flow0 = flow0 + 2.0 * resize(flow0_in, 2.0)
        flow1 = flow1 + 2.0 * resize(flow1_in, 2.0)
        return flow0, flow1, out[:, 4:]


class MultiFlowDecoder(nn.Module):
    def __init__(self, cin: int, skip: int, num_flows: int = 3):
        super().__init__()
        self.num_flows = num_flows
        self.convblock = nn.Sequential(convrelu(cin * 3 + 4, cin * 3), ResBlock(cin * 3, skip),
                                       nn.ConvTranspose2d(cin * 3, 8 * num_flows, 4, 2, 1, bias=True))

    def forward(self, ft, f0, f1, flow0, flow1):
        n = self.num_flows
        out = self.convblock(torch.cat([ft, warp(f0, flow0), warp(f1, flow1), flow0, flow1], 1))
        d0, d1, mask, img_res = torch.split(out, [2 * n, 2 * n, n, 3 * n], 1)
        flow0 = d0 + 2.0 * resize(flow0, 2.0).repeat(1, n, 1, 1)
        flow1 = d1 + 2.0 * resize(flow1, 2.0).repeat(1, n, 1, 1)
        return flow0, flow1, torch.sigmoid(mask), img_res


def multi_flow_combine(comb_block, img0, img1, flow0, flow1, mask, img_res, mean):
    b, c, h, w = flow0.shape
    n = c // 2
    flow0 = flow0.reshape(b, n, 2, h, w).reshape(-1, 2, h, w)
    flow1 = flow1.reshape(b, n, 2, h, w).reshape(-1, 2, h, w)
    mask = mask.reshape(b, n, 1, h, w).reshape(-1, 1, h, w)
    img_res = img_res.reshape(b, n, 3, h, w).reshape(-1, 3, h, w)
    img0 = torch.stack([img0] * n, 1).reshape(-1, 3, h, w)
    img1 = torch.stack([img1] * n, 1).reshape(-1, 3, h, w)
    mean = torch.stack([mean] * n, 1).reshape(-1, 1, 1, 1)
    warps = mask * warp(img0, flow0) + (1 - mask) * warp(img1, flow1) + mean + img_res
    warps = warps.reshape(b, n, 3, h, w)
    return warps.mean(1) + comb_block(warps.view(b, -1, h, w))


# ---- correlation and update -----------------------------------------------------------------

class BidirCorrBlock:
    def __init__(self, fmap1: torch.Tensor, fmap2: torch.Tensor, num_levels: int = 4, radius: int = 4):
        self.num_levels, self.radius = num_levels, radius
        b, d, h, w = fmap1.shape
        corr = torch.matmul(fmap1.view(b, d, h * w).transpose(1, 2), fmap2.view(b, d, h * w))
        corr = (corr / torch.sqrt(torch.tensor(d).float())).view(b, h, w, 1, h, w)
        corr_t = corr.clone().permute(0, 4, 5, 3, 1, 2)
        corr = corr.reshape(b * h * w, 1, h, w)
        corr_t = corr_t.reshape(b * h * w, 1, h, w)
        self.pyr, self.pyr_t = [corr], [corr_t]
        for _ in range(num_levels - 1):
            corr = F.avg_pool2d(corr, 2, stride=2)
            corr_t = F.avg_pool2d(corr_t, 2, stride=2)
            self.pyr.append(corr)
            self.pyr_t.append(corr_t)

    def __call__(self, coords0: torch.Tensor, coords1: torch.Tensor):
        r = self.radius
        c0 = coords0.permute(0, 2, 3, 1)
        c1 = coords1.permute(0, 2, 3, 1)
        b, h, w, _ = c0.shape
        delta = window_deltas(r, c0.device).view(1, 2 * r + 1, 2 * r + 1, 2)
        out, out_t = [], []
        for i in range(self.num_levels):
            out.append(bilinear_sampler(self.pyr[i], c0.reshape(b * h * w, 1, 1, 2) / 2 ** i + delta).view(b, h, w, -1))
            out_t.append(bilinear_sampler(self.pyr_t[i], c1.reshape(b * h * w, 1, 1, 2) / 2 ** i + delta).view(b, h, w, -1))
        return (torch.cat(out, -1).permute(0, 3, 1, 2).contiguous().float(),
                torch.cat(out_t, -1).permute(0, 3, 1, 2).contiguous().float())


class SmallUpdateBlock(nn.Module):
    def __init__(self, cdim: int, hidden_dim: int = 76, flow_dim: int = 20, corr_dim: int = 64, fc_dim: int = 68,
                 corr_levels: int = 4, radius: int = 3, scale_factor: float | None = None):
        super().__init__()
        cor_planes = corr_levels * (2 * radius + 1) ** 2
        self.scale_factor = scale_factor
        self.convc1 = nn.Conv2d(2 * cor_planes, corr_dim, 1, padding=0)
        self.convf1 = nn.Conv2d(4, flow_dim * 2, 7, padding=3)
        self.convf2 = nn.Conv2d(flow_dim * 2, flow_dim, 3, padding=1)
        self.conv = nn.Conv2d(corr_dim + flow_dim, fc_dim, 3, padding=1)
        self.gru = nn.Sequential(nn.Conv2d(fc_dim + 4 + cdim, hidden_dim, 3, padding=1),
                                 nn.LeakyReLU(0.1, inplace=True), nn.Conv2d(hidden_dim, hidden_dim, 3, padding=1))
        self.feat_head = nn.Sequential(nn.Conv2d(hidden_dim, hidden_dim, 3, padding=1),
                                       nn.LeakyReLU(0.1, inplace=True), nn.Conv2d(hidden_dim, cdim, 3, padding=1))
        self.flow_head = nn.Sequential(nn.Conv2d(hidden_dim, hidden_dim, 3, padding=1),
                                       nn.LeakyReLU(0.1, inplace=True), nn.Conv2d(hidden_dim, 4, 3, padding=1))
        self.lrelu = nn.LeakyReLU(0.1, inplace=True)

    def forward(self, net, flow, corr):
        if self.scale_factor is not None:
            net = resize(net, 1 / self.scale_factor)
        cor = self.lrelu(self.convc1(corr))
        flo = self.lrelu(self.convf2(self.lrelu(self.convf1(flow))))
        inp = self.lrelu(self.conv(torch.cat([cor, flo], 1)))
        out = self.gru(torch.cat([inp, flow, net], 1))
        dnet, dflow = self.feat_head(out), self.flow_head(out)
        if self.scale_factor is not None:
            dnet = resize(dnet, self.scale_factor)
            dflow = self.scale_factor * resize(dflow, self.scale_factor)
        return dnet, dflow


class AMTS(nn.Module):
    def __init__(self, corr_radius: int = 3, corr_lvls: int = 4, num_flows: int = 3,
                 channels: tuple[int, ...] = (20, 32, 44, 56), skip_channels: int = 20):
        super().__init__()
        self.radius, self.corr_levels, self.num_flows = corr_radius, corr_lvls, num_flows
        ch = list(channels)
        self.feat_encoder = SmallEncoder(output_dim=84)
        self.encoder = Encoder(ch)
        self.decoder4 = InitDecoder(ch[3], ch[2], skip_channels)
        self.decoder3 = IntermediateDecoder(ch[2], ch[1], skip_channels)
        self.decoder2 = IntermediateDecoder(ch[1], ch[0], skip_channels)
        self.decoder1 = MultiFlowDecoder(ch[0], skip_channels, num_flows)
        self.update4 = self._upd(44)
        self.update3 = self._upd(32, 2)
        self.update2 = self._upd(20, 4)
        self.comb_block = nn.Sequential(nn.Conv2d(3 * num_flows, 6 * num_flows, 3, 1, 1), nn.PReLU(6 * num_flows),
                                        nn.Conv2d(6 * num_flows, 3, 3, 1, 1))

    def _upd(self, cdim, scale_factor=None):
        return SmallUpdateBlock(cdim, 76, 20, 64, 68, self.corr_levels, self.radius, scale_factor)

    def _lookup(self, corr_fn, coord, flow0, flow1, embt, downsample=1):
        t1_scale = 1.0 / embt
        t0_scale = 1.0 / (1.0 - embt)
        if downsample != 1:
            inv = 1 / downsample
            flow0 = inv * resize(flow0, inv)
            flow1 = inv * resize(flow1, inv)
        c0, c1 = corr_fn(coord + flow1 * t1_scale, coord + flow0 * t0_scale)
        return torch.cat([c0, c1], 1), torch.cat([flow0, flow1], 1)

    @torch.no_grad()
    def forward(self, img0: torch.Tensor, img1: torch.Tensor, embt: torch.Tensor) -> torch.Tensor:
        """Interpolated frame at ``embt`` (scale factor 1), inputs/outputs in [0, 1]."""
        mean_ = torch.cat([img0, img1], 2).mean(1, keepdim=True).mean(2, keepdim=True).mean(3, keepdim=True)
        img0, img1 = img0 - mean_, img1 - mean_
        b, _, h, w = img0.shape
        coord = coords_grid(b, h // 8, w // 8, img0.device)
        f = self.feat_encoder(torch.cat([img0, img1], 0))
        fmap0, fmap1 = torch.split(f, [b, b], 0)
        corr_fn = BidirCorrBlock(fmap0, fmap1, radius=self.radius, num_levels=self.corr_levels)
        f0_1, f0_2, f0_3, f0_4 = self.encoder(img0)
        f1_1, f1_2, f1_3, f1_4 = self.encoder(img1)

        u0, u1, ft = self.decoder4(f0_4, f1_4, embt)
        corr, flow = self._lookup(corr_fn, coord, u0, u1, embt, 1)
        dft, dflow = self.update4(ft, flow, corr)
        d0, d1 = torch.chunk(dflow, 2, 1)
        u0, u1, ft = u0 + d0, u1 + d1, ft + dft

        u0, u1, ft = self.decoder3(ft, f0_3, f1_3, u0, u1)
        corr, flow = self._lookup(corr_fn, coord, u0, u1, embt, 2)
        dft, dflow = self.update3(ft, flow, corr)
        d0, d1 = torch.chunk(dflow, 2, 1)
        u0, u1, ft = u0 + d0, u1 + d1, ft + dft

        u0, u1, ft = self.decoder2(ft, f0_2, f1_2, u0, u1)
        corr, flow = self._lookup(corr_fn, coord, u0, u1, embt, 4)
        dft, dflow = self.update2(ft, flow, corr)
        d0, d1 = torch.chunk(dflow, 2, 1)
        u0, u1, ft = u0 + d0, u1 + d1, ft + dft

        u0, u1, mask, img_res = self.decoder1(ft, f0_1, f1_1, u0, u1)
        pred = multi_flow_combine(self.comb_block, img0, img1, u0, u1, mask, img_res, mean_)
        return torch.clamp(pred, 0, 1)


def pad16(h: int, w: int, divisor: int = 16) -> list[int]:
    ph = (((h // divisor) + 1) * divisor - h) % divisor
    pw = (((w // divisor) + 1) * divisor - w) % divisor
    return [pw // 2, pw - pw // 2, ph // 2, ph - ph // 2]


def load_amt_s(path: str | Path, device: str = "cpu") -> AMTS:
    model = AMTS()
    load_strict(model, load_checkpoint(path, key="state_dict"), what="AMT-S")
    return model.eval().to(device)


@torch.no_grad()
def amt_interpolate(model: AMTS, left: np.ndarray, right: np.ndarray, device: str = "cpu") -> np.ndarray:
    """Midpoint frames for pairs (N,H,W,3) uint8 → (N,H,W,3) uint8, as VBench motion smoothness."""
    t0 = torch.from_numpy(np.ascontiguousarray(left)).permute(0, 3, 1, 2).to(device) / 255.0
    t1 = torch.from_numpy(np.ascontiguousarray(right)).permute(0, 3, 1, 2).to(device) / 255.0
    h, w = t0.shape[-2:]
    pad = pad16(h, w)
    t0, t1 = F.pad(t0, pad, mode="replicate"), F.pad(t1, pad, mode="replicate")
    embt = torch.full((t0.shape[0], 1, 1, 1), 0.5, device=t0.device)
    out = model(t0, t1, embt)
    out = out[..., pad[2]: out.shape[-2] - pad[3], pad[0]: out.shape[-1] - pad[1]]
    return (out * 255.0).permute(0, 2, 3, 1).cpu().numpy().clip(0, 255).astype(np.uint8)
