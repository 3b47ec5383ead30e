"""SyncNet (joonson/syncnet_python ``SyncNetModel.S``) and the S3FD face detector, plain torch.

Route: network code written here with the reference's module names, loading the original files
strictly: ``syncnet_v2.model`` (keys ``netcnnaud.*``, ``netfcaud.*``, ``netcnnlip.*``,
``netfclip.*``; the reference copies tensors by name) and ``sfd_face.pth`` (keys ``vgg.*``,
``L2Norm{3_3,4_3,5_3}.weight``, ``extras.*``, ``loc.*``, ``conf.*``).

Inputs as the reference: lip windows are BGR frames in [0, 255] (no normalisation), shape
(N, 3, 5, 224, 224); audio windows are MFCCs (N, 1, 13, 20). S3FD takes the RGB frame resized
by ``scales`` (bilinear), minus the per-channel means (123, 117, 104) in RGB order.
"""

from __future__ import annotations

from itertools import product
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn

from .common import catalog_weight, load_checkpoint, load_strict

W_SYNCNET = catalog_weight("syncnet_v2")
W_S3FD = catalog_weight("s3fd")


def _cbr2(cin, cout, k, s=(1, 1), p=(1, 1), relu_inplace=True):
    return [nn.Conv2d(cin, cout, kernel_size=k, stride=s, padding=p), nn.BatchNorm2d(cout), nn.ReLU(inplace=relu_inplace)]


def _cbr3(cin, cout, k, s=(1, 1, 1), p=0):
    return [nn.Conv3d(cin, cout, kernel_size=k, stride=s, padding=p), nn.BatchNorm3d(cout), nn.ReLU(inplace=True)]


class SyncNet(nn.Module):
    def __init__(self, num_layers_in_fc_layers: int = 1024):
        super().__init__()
        self.netcnnaud = nn.Sequential(
            *_cbr2(1, 64, (3, 3)), nn.MaxPool2d(kernel_size=(1, 1), stride=(1, 1)),
            *_cbr2(64, 192, (3, 3)), nn.MaxPool2d(kernel_size=(3, 3), stride=(1, 2)),
            *_cbr2(192, 384, (3, 3)),
            *_cbr2(384, 256, (3, 3)),
            *_cbr2(256, 256, (3, 3)), nn.MaxPool2d(kernel_size=(3, 3), stride=(2, 2)),
            *_cbr2(256, 512, (5, 4), p=(0, 0), relu_inplace=False),
        )
        self.netfcaud = nn.Sequential(nn.Linear(512, 512), nn.BatchNorm1d(512), nn.ReLU(), nn.Linear(512, num_layers_in_fc_layers))
        self.netfclip = nn.Sequential(nn.Linear(512, 512), nn.BatchNorm1d(512), nn.ReLU(), nn.Linear(512, num_layers_in_fc_layers))
        self.netcnnlip = nn.Sequential(
            *_cbr3(3, 96, (5, 7, 7), (1, 2, 2), 0), nn.MaxPool3d(kernel_size=(1, 3, 3), stride=(1, 2, 2)),
            *_cbr3(96, 256, (1, 5, 5), (1, 2, 2), (0, 1, 1)),
            nn.MaxPool3d(kernel_size=(1, 3, 3), stride=(1, 2, 2), padding=(0, 1, 1)),
            *_cbr3(256, 256, (1, 3, 3), (1, 1, 1), (0, 1, 1)),
            *_cbr3(256, 256, (1, 3, 3), (1, 1, 1), (0, 1, 1)),
            *_cbr3(256, 256, (1, 3, 3), (1, 1, 1), (0, 1, 1)), nn.MaxPool3d(kernel_size=(1, 3, 3), stride=(1, 2, 2)),
            *_cbr3(256, 512, (1, 6, 6), (1, 1, 1), 0),
        )

    @torch.no_grad()
    def forward_aud(self, x: torch.Tensor) -> torch.Tensor:
        mid = self.netcnnaud(x)
        return self.netfcaud(mid.view(mid.size(0), -1))

    @torch.no_grad()
    def forward_lip(self, x: torch.Tensor) -> torch.Tensor:
        mid = self.netcnnlip(x)
        return self.netfclip(mid.view(mid.size(0), -1))


def with_bn_counters(model: nn.Module, sd: dict) -> dict:
    """``sd`` plus a zero ``num_batches_tracked`` for each BatchNorm whose counter is absent.

    Checkpoints written by PyTorch < 0.4.1 have no such counters; the reference loader
    (``SyncNetInstance.loadParameters``) copies tensors by name and PyTorch's own BatchNorm loading
    fills the counter for old files, so such a file must load here too. The counter is not used in
    eval mode (BatchNorm's ``momentum`` is set), so the numbers do not depend on it. Every other
    tensor stays required.
    """
    out = dict(sd)
    for name, m in model.named_modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm) and m.track_running_stats:
            k = f"{name}.num_batches_tracked"
            if k not in out and f"{name}.running_mean" in out:
                out[k] = torch.tensor(0, dtype=torch.long)
    return out


def load_syncnet(path: str | Path, device: str = "cpu") -> SyncNet:
    model = SyncNet()
    sd = with_bn_counters(model, load_checkpoint(path))
    load_strict(model, sd, what="SyncNet (syncnet_v2.model)")
    return model.eval().to(device)


# ---- S3FD ------------------------------------------------------------------------------------

class L2Norm(nn.Module):
    def __init__(self, n_channels: int, scale: float):
        super().__init__()
        self.eps = 1e-10
        self.weight = nn.Parameter(torch.full((n_channels,), float(scale)))

    def forward(self, x):
        norm = x.pow(2).sum(dim=1, keepdim=True).sqrt() + self.eps
        return self.weight.view(1, -1, 1, 1) * (x / norm)


def _vgg() -> nn.ModuleList:
    L: list[nn.Module] = []

    def conv(cin, cout, **kw):
        L.extend([nn.Conv2d(cin, cout, 3, 1, padding=kw.get("padding", 1), dilation=kw.get("dilation", 1)), nn.ReLU(inplace=True)])

    conv(3, 64); conv(64, 64); L.append(nn.MaxPool2d(2, 2))
    conv(64, 128); conv(128, 128); L.append(nn.MaxPool2d(2, 2))
    conv(128, 256); conv(256, 256); conv(256, 256); L.append(nn.MaxPool2d(2, 2, ceil_mode=True))
    conv(256, 512); conv(512, 512); conv(512, 512); L.append(nn.MaxPool2d(2, 2))
    conv(512, 512); conv(512, 512); conv(512, 512); L.append(nn.MaxPool2d(2, 2))
    L.extend([nn.Conv2d(512, 1024, 3, 1, padding=6, dilation=6), nn.ReLU(inplace=True), nn.Conv2d(1024, 1024, 1, 1), nn.ReLU(inplace=True)])
    return nn.ModuleList(L)


class S3FDNet(nn.Module):
    MIN_SIZES = (16, 32, 64, 128, 256, 512)
    STEPS = (4, 8, 16, 32, 64, 128)
    VARIANCE = (0.1, 0.2)

    def __init__(self):
        super().__init__()
        self.vgg = _vgg()
        self.L2Norm3_3 = L2Norm(256, 10)
        self.L2Norm4_3 = L2Norm(512, 8)
        self.L2Norm5_3 = L2Norm(512, 5)
        self.extras = nn.ModuleList([nn.Conv2d(1024, 256, 1, 1), nn.Conv2d(256, 512, 3, 2, padding=1),
                                     nn.Conv2d(512, 128, 1, 1), nn.Conv2d(128, 256, 3, 2, padding=1)])
        src = (256, 512, 512, 1024, 512, 256)
        self.loc = nn.ModuleList([nn.Conv2d(c, 4, 3, 1, padding=1) for c in src])
        self.conf = nn.ModuleList([nn.Conv2d(src[0], 4, 3, 1, padding=1)] + [nn.Conv2d(c, 2, 3, 1, padding=1) for c in src[1:]])

    @torch.no_grad()
    def heads(self, x: torch.Tensor):
        """Per-prior (loc (N,P,4), face prob (N,P), priors (P,4) in cx,cy,w,h normalised)."""
        size = x.shape[2:]
        sources = []
        for k in range(16):
            x = self.vgg[k](x)
        sources.append(self.L2Norm3_3(x))
        for k in range(16, 23):
            x = self.vgg[k](x)
        sources.append(self.L2Norm4_3(x))
        for k in range(23, 30):
            x = self.vgg[k](x)
        sources.append(self.L2Norm5_3(x))
        for k in range(30, len(self.vgg)):
            x = self.vgg[k](x)
        sources.append(x)
        for k, v in enumerate(self.extras):
            x = torch.relu(v(x))
            if k % 2 == 1:
                sources.append(x)
        locs, confs, fmaps = [], [], []
        for i, s in enumerate(sources):
            lc = self.loc[i](s)
            cf = self.conf[i](s)
            if i == 0:  # max-out background label over the first three channels
                cf = torch.cat([cf[:, 0:3].max(dim=1, keepdim=True)[0], cf[:, 3:]], dim=1)
            locs.append(lc.permute(0, 2, 3, 1).reshape(lc.shape[0], -1, 4))
            confs.append(cf.permute(0, 2, 3, 1).reshape(cf.shape[0], -1, 2))
            fmaps.append((lc.shape[2], lc.shape[3]))
        loc = torch.cat(locs, 1)
        prob = torch.softmax(torch.cat(confs, 1), dim=-1)[..., 1]
        return loc, prob, self.priors(size, fmaps).to(loc)

    def priors(self, size, fmaps) -> torch.Tensor:
        imh, imw = int(size[0]), int(size[1])
        out = []
        for k, (fh, fw) in enumerate(fmaps):
            for i, j in product(range(fh), range(fw)):
                fkw, fkh = imw / self.STEPS[k], imh / self.STEPS[k]
                out += [(j + 0.5) / fkw, (i + 0.5) / fkh, self.MIN_SIZES[k] / imw, self.MIN_SIZES[k] / imh]
        return torch.tensor(out, dtype=torch.float32).view(-1, 4)


def decode_boxes(loc: torch.Tensor, priors: torch.Tensor, variances=(0.1, 0.2)) -> torch.Tensor:
    boxes = torch.cat((priors[:, :2] + loc[:, :2] * variances[0] * priors[:, 2:], priors[:, 2:] * torch.exp(loc[:, 2:] * variances[1])), 1)
    boxes[:, :2] -= boxes[:, 2:] / 2
    boxes[:, 2:] += boxes[:, :2]
    return boxes


def nms_torch_style(boxes: np.ndarray, scores: np.ndarray, overlap: float = 0.3, top_k: int = 5000) -> list[int]:
    """The detector's NMS (ssd.pytorch style): keep the best, drop IoU > overlap, up to top_k candidates."""
    if boxes.shape[0] == 0:
        return []
    x1, y1, x2, y2 = boxes.T
    area = (x2 - x1) * (y2 - y1)
    idx = np.argsort(scores, kind="stable")[-top_k:]
    keep = []
    while idx.size > 0:
        i = idx[-1]
        keep.append(int(i))
        if idx.size == 1:
            break
        idx = idx[:-1]
        xx1 = np.maximum(x1[idx], x1[i]); yy1 = np.maximum(y1[idx], y1[i])
        xx2 = np.minimum(x2[idx], x2[i]); yy2 = np.minimum(y2[idx], y2[i])
        inter = np.clip(xx2 - xx1, 0, None) * np.clip(yy2 - yy1, 0, None)
        iou = inter / ((area[idx] - inter) + area[i])
        idx = idx[iou <= overlap]
    return keep


def nms_py(dets: np.ndarray, thresh: float) -> list[int]:
    """``nms_`` of syncnet_python's S3FD wrapper (py-faster-rcnn CPU NMS)."""
    if dets.shape[0] == 0:
        return []
    x1, y1, x2, y2, sc = dets.T
    areas = (x2 - x1) * (y2 - y1)
    order = sc.argsort()[::-1]
    keep = []
    while order.size > 0:
        i = order[0]
        keep.append(int(i))
        w = np.maximum(0.0, np.minimum(x2[i], x2[order[1:]]) - np.maximum(x1[i], x1[order[1:]]))
        h = np.maximum(0.0, np.minimum(y2[i], y2[order[1:]]) - np.maximum(y1[i], y1[order[1:]]))
        inter = w * h
        ovr = inter / (areas[i] + areas[order[1:]] - inter)
        order = order[np.where(ovr <= thresh)[0] + 1]
    return keep


class S3FD:
    """``S3FD.detect_faces(image_rgb, conf_th, scales)`` → (n, 5) boxes x1 y1 x2 y2 score in pixels."""

    MEAN_RGB = np.array([123.0, 117.0, 104.0], dtype=np.float32)

    def __init__(self, net: S3FDNet, device: str = "cpu"):
        self.net, self.device = net, device
        self.name = "s3fd"

    @torch.no_grad()
    def detect_faces(self, image: np.ndarray, conf_th: float = 0.9, scales=(0.25,), top_k: int = 750,
                     conf_thresh: float = 0.05, nms_thresh: float = 0.3) -> np.ndarray:
        import cv2

        h, w = image.shape[:2]
        out = np.empty((0, 5))
        for s in scales:
            im = cv2.resize(image, dsize=(0, 0), fx=s, fy=s, interpolation=cv2.INTER_LINEAR).astype(np.float32)
            x = torch.from_numpy((im - self.MEAN_RGB).transpose(2, 0, 1).copy())[None].to(self.device)
            loc, prob, priors = self.net.heads(x)
            boxes = decode_boxes(loc[0], priors, S3FDNet.VARIANCE).cpu().numpy()
            p = prob[0].cpu().numpy()
            m = p > conf_thresh
            bx, sc = boxes[m], p[m]
            keep = nms_torch_style(bx, sc, nms_thresh, 5000)[:top_k]
            for k in keep:  # detections come out in descending score; stop at the first ≤ conf_th
                if sc[k] <= conf_th:
                    break
                out = np.vstack([out, np.r_[bx[k] * np.array([w, h, w, h]), sc[k]]])
        if out.shape[0]:
            out = out[nms_py(out, 0.1)]
        return out


def load_s3fd(path: str | Path, device: str = "cpu") -> S3FD:
    net = S3FDNet()
    load_strict(net, load_checkpoint(path), what="S3FD (sfd_face.pth)")
    return S3FD(net.eval().to(device), device)
