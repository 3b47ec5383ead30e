"""RAFT optical flow (princeton-vl/RAFT, as vendored by VBench), plain torch.

Route: network code written here with the module names of the reference so the original
``raft-things.pth`` loads strictly (the file was saved from ``nn.DataParallel``: every key starts
with ``module.``, removed as VBench does). ``torchvision.models.optical_flow.raft_large`` is a port
of the same network, but torchvision does not import with the CPU torch here and its key names
differ, so the original layout is the one supported.

Inference as VBench ``dynamic_degree``: inputs in [0, 255] float, padded to a multiple of 8
(replicate, 'sintel' mode: split evenly), 20 iterations, ``test_mode`` (upsampled last flow,
still padded — VBench takes its top-5 % magnitudes on the padded field).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from .common import catalog_weight, load_checkpoint, load_strict, strip_prefix

WEIGHT = catalog_weight("raft_things")


def _norm(kind: str, ch: int) -> nn.Module:
    if kind == "group":
        return nn.GroupNorm(num_groups=ch // 8, num_channels=ch)
    if kind == "batch":
        return nn.BatchNorm2d(ch)
    if kind == "instance":
        return nn.InstanceNorm2d(ch)
    return nn.Sequential()


class ResidualBlock(nn.Module):
    def __init__(self, cin: int, cout: int, norm: str, stride: int = 1):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, padding=1, stride=stride)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1)
        self.relu = nn.ReLU(inplace=True)
        self.norm1 = _norm(norm, cout)
        self.norm2 = _norm(norm, cout)
        if stride != 1:
            self.norm3 = _norm(norm, cout)
            self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride=stride), self.norm3)
        else:
            self.downsample = None

    def forward(self, x):
        y = self.relu(self.norm1(self.conv1(x)))
        y = self.relu(self.norm2(self.conv2(y)))
        if self.downsample is not None:
            x = self.downsample(x)
        return self.relu(x + y)


class BasicEncoder(nn.Module):
    def __init__(self, output_dim: int, norm_fn: str, dims: tuple[int, int, int, int] = (64, 64, 96, 128)):
        super().__init__()
        c0, c1, c2, c3 = dims
        self.norm1 = _norm(norm_fn, c0)
        self.conv1 = nn.Conv2d(3, c0, 7, stride=2, padding=3)
        self.relu1 = nn.ReLU(inplace=True)
        self.layer1 = nn.Sequential(ResidualBlock(c0, c1, norm_fn, 1), ResidualBlock(c1, c1, norm_fn, 1))
        self.layer2 = nn.Sequential(ResidualBlock(c1, c2, norm_fn, 2), ResidualBlock(c2, c2, norm_fn, 1))
        self.layer3 = nn.Sequential(ResidualBlock(c2, c3, norm_fn, 2), ResidualBlock(c3, c3, norm_fn, 1))
        self.conv2 = nn.Conv2d(c3, output_dim, 1)

    def forward(self, x):
        x = self.relu1(self.norm1(self.conv1(x)))
        x = self.layer3(self.layer2(self.layer1(x)))
        return self.conv2(x)


def coords_grid(b: int, h: int, w: int, device) -> torch.Tensor:
    ys, xs = torch.meshgrid(torch.arange(h, device=device), torch.arange(w, device=device), indexing="ij")
    return torch.stack([xs, ys], dim=0).float()[None].repeat(b, 1, 1, 1)


def bilinear_sampler(img: torch.Tensor, coords: torch.Tensor) -> torch.Tensor:
    """grid_sample with pixel coordinates (align_corners=True, zero padding)."""
    h, w = img.shape[-2:]
    x, y = coords.split([1, 1], dim=-1)
    grid = torch.cat([2 * x / (w - 1) - 1, 2 * y / (h - 1) - 1], dim=-1)
    return F.grid_sample(img, grid, align_corners=True)


def window_deltas(r: int, device) -> torch.Tensor:
    """(2r+1, 2r+1, 2) lookup offsets in the reference's order: the first component (added to x)
    runs over rows, the second (added to y) over columns."""
    d = torch.linspace(-r, r, 2 * r + 1, device=device)
    a, b = torch.meshgrid(d, d, indexing="ij")
    return torch.stack([a, b], dim=-1)


class CorrBlock:
    def __init__(self, fmap1: torch.Tensor, fmap2: torch.Tensor, num_levels: int = 4, radius: int = 4):
        self.num_levels, self.radius = num_levels, radius
        b, d, h, w = fmap1.shape
        corr = torch.matmul(fmap1.view(b, d, h * w).transpose(1, 2), fmap2.view(b, d, h * w))
        corr = (corr / torch.sqrt(torch.tensor(d).float())).reshape(b * h * w, 1, h, w)
        self.pyramid = [corr]
        for _ in range(num_levels - 1):
            corr = F.avg_pool2d(corr, 2, stride=2)
            self.pyramid.append(corr)

    def __call__(self, coords: torch.Tensor) -> torch.Tensor:
        r = self.radius
        coords = coords.permute(0, 2, 3, 1)
        b, h, w, _ = coords.shape
        delta = window_deltas(r, coords.device).view(1, 2 * r + 1, 2 * r + 1, 2)
        out = []
        for i, corr in enumerate(self.pyramid):
            c = coords.reshape(b * h * w, 1, 1, 2) / 2 ** i + delta
            out.append(bilinear_sampler(corr, c).view(b, h, w, -1))
        return torch.cat(out, dim=-1).permute(0, 3, 1, 2).contiguous().float()


class FlowHead(nn.Module):
    def __init__(self, cin: int = 128, hidden: int = 256):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, hidden, 3, padding=1)
        self.conv2 = nn.Conv2d(hidden, 2, 3, padding=1)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x):
        return self.conv2(self.relu(self.conv1(x)))


class SepConvGRU(nn.Module):
    def __init__(self, hidden: int = 128, inp: int = 256):
        super().__init__()
        c = hidden + inp
        self.convz1 = nn.Conv2d(c, hidden, (1, 5), padding=(0, 2))
        self.convr1 = nn.Conv2d(c, hidden, (1, 5), padding=(0, 2))
        self.convq1 = nn.Conv2d(c, hidden, (1, 5), padding=(0, 2))
        self.convz2 = nn.Conv2d(c, hidden, (5, 1), padding=(2, 0))
        self.convr2 = nn.Conv2d(c, hidden, (5, 1), padding=(2, 0))
        self.convq2 = nn.Conv2d(c, hidden, (5, 1), padding=(2, 0))

    @staticmethod
    def _step(h, x, cz, cr, cq):
        hx = torch.cat([h, x], dim=1)
        z = torch.sigmoid(cz(hx))
        r = torch.sigmoid(cr(hx))
        q = torch.tanh(cq(torch.cat([r * h, x], dim=1)))
        return (1 - z) * h + z * q

    def forward(self, h, x):
        h = self._step(h, x, self.convz1, self.convr1, self.convq1)
        return self._step(h, x, self.convz2, self.convr2, self.convq2)


class BasicMotionEncoder(nn.Module):
    def __init__(self, cor_planes: int):
        super().__init__()
        self.convc1 = nn.Conv2d(cor_planes, 256, 1, padding=0)
        self.convc2 = nn.Conv2d(256, 192, 3, padding=1)
        self.convf1 = nn.Conv2d(2, 128, 7, padding=3)
        self.convf2 = nn.Conv2d(128, 64, 3, padding=1)
        self.conv = nn.Conv2d(64 + 192, 128 - 2, 3, padding=1)

    def forward(self, flow, corr):
        cor = F.relu(self.convc2(F.relu(self.convc1(corr))))
        flo = F.relu(self.convf2(F.relu(self.convf1(flow))))
        out = F.relu(self.conv(torch.cat([cor, flo], dim=1)))
        return torch.cat([out, flow], dim=1)


class BasicUpdateBlock(nn.Module):
    def __init__(self, cor_planes: int, hidden: int = 128):
        super().__init__()
        self.encoder = BasicMotionEncoder(cor_planes)
        self.gru = SepConvGRU(hidden, 128 + hidden)
        self.flow_head = FlowHead(hidden, 256)
        self.mask = nn.Sequential(nn.Conv2d(128, 256, 3, padding=1), nn.ReLU(inplace=True), nn.Conv2d(256, 64 * 9, 1, padding=0))

    def forward(self, net, inp, corr, flow):
        inp = torch.cat([inp, self.encoder(flow, corr)], dim=1)
        net = self.gru(net, inp)
        return net, 0.25 * self.mask(net), self.flow_head(net)


class RAFT(nn.Module):
    """RAFT (large): feature/context encoders, 4-level correlation pyramid radius 4, SepConvGRU."""

    def __init__(self, corr_levels: int = 4, corr_radius: int = 4):
        super().__init__()
        self.hidden_dim = self.context_dim = 128
        self.corr_levels, self.corr_radius = corr_levels, corr_radius
        self.fnet = BasicEncoder(256, "instance")
        self.cnet = BasicEncoder(256, "batch")
        self.update_block = BasicUpdateBlock(corr_levels * (2 * corr_radius + 1) ** 2, 128)

    @staticmethod
    def upsample_flow(flow, mask):
        n, _, h, w = flow.shape
        mask = torch.softmax(mask.view(n, 1, 9, 8, 8, h, w), dim=2)
        up = F.unfold(8 * flow, [3, 3], padding=1).view(n, 2, 9, 1, 1, h, w)
        up = torch.sum(mask * up, dim=2).permute(0, 1, 4, 2, 5, 3)
        return up.reshape(n, 2, 8 * h, 8 * w)

    @torch.no_grad()
    def forward(self, image1: torch.Tensor, image2: torch.Tensor, iters: int = 20) -> torch.Tensor:
        """Upsampled flow (N, 2, H, W) after ``iters`` updates; inputs in [0, 255], H, W divisible by 8."""
        image1 = (2 * (image1 / 255.0) - 1.0).contiguous()
        image2 = (2 * (image2 / 255.0) - 1.0).contiguous()
        f = self.fnet(torch.cat([image1, image2], dim=0))
        fmap1, fmap2 = torch.split(f, [image1.shape[0], image1.shape[0]], dim=0)
        corr_fn = CorrBlock(fmap1.float(), fmap2.float(), self.corr_levels, self.corr_radius)
        net, inp = torch.split(self.cnet(image1), [self.hidden_dim, self.context_dim], dim=1)
        net, inp = torch.tanh(net), torch.relu(inp)
        n, _, h, w = image1.shape
        coords0 = coords_grid(n, h // 8, w // 8, image1.device)
        coords1 = coords_grid(n, h // 8, w // 8, image1.device)
        flow_up = None
        for _ in range(iters):
            corr = corr_fn(coords1)
            net, up_mask, delta = self.update_block(net, inp, corr, coords1 - coords0)
            coords1 = coords1 + delta
        flow_up = self.upsample_flow(coords1 - coords0, up_mask)
        return flow_up


def sintel_pad(h: int, w: int, divisor: int = 8) -> list[int]:
    """RAFT ``InputPadder`` ('sintel'): [left, right, top, bottom] replicate padding."""
    ph = (((h // divisor) + 1) * divisor - h) % divisor
    pw = (((w // divisor) + 1) * divisor - w) % divisor
    return [pw // 2, pw - pw // 2, ph // 2, ph - ph // 2]


def load_raft(path: str | Path, device: str = "cpu") -> RAFT:
    model = RAFT()
    sd = strip_prefix(load_checkpoint(path), "module.")
    load_strict(model, sd, what="RAFT (raft-things)")
    return model.eval().to(device)


@torch.no_grad()
def raft_flow_pairs(model: RAFT, a: np.ndarray, b: np.ndarray, iters: int = 20, device: str = "cpu") -> np.ndarray:
    """Padded upsampled flows for frame pairs (N,H,W,3) uint8 → (N, 2, H+pad, W+pad) as VBench."""
    t1 = torch.from_numpy(np.ascontiguousarray(a)).permute(0, 3, 1, 2).float().to(device)
    t2 = torch.from_numpy(np.ascontiguousarray(b)).permute(0, 3, 1, 2).float().to(device)
    pad = sintel_pad(t1.shape[-2], t1.shape[-1])
    t1, t2 = F.pad(t1, pad, mode="replicate"), F.pad(t2, pad, mode="replicate")
    return model(t1, t2, iters=iters).cpu().numpy()
