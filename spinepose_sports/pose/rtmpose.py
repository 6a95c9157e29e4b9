"""RTMPose in plain torch: CSPNeXt backbone + RTMCC head (SimCC outputs), 37 keypoints.

SpinePose is RTMPose trained on 37 SpineTrack keypoints (design §4).  This module builds the
network from its published description (RTMPose, Jiang et al. 2023; CSPNeXt from RTMDet,
Lyu et al. 2022), with no mmpose dependency, so that

* benchmarks get stand-ins with the real architecture and cost (random weights: their
  keypoints mean nothing, never present them as results);
* the official ONNX weights can be loaded into a torch module (:mod:`.convert`), the first
  step toward fine-tuning.

Architecture (input ``(N, 3, 256, 192)``):

* **CSPNeXt** (P5, stride 32): a stem of three 3x3 convs (the first with stride 2), then four
  stages, each a stride-2 3x3 conv and a CSP layer; the last stage has an SPP block
  (max-pools 5, 9, 13, computed SPPF-style as three chained 5x5 pools: identical output)
  before its CSP layer.  A CSP layer splits the input into a short 1x1 branch and a main 1x1
  branch through ``n`` CSPNeXt blocks (3x3 conv, then a depthwise-separable 5x5 conv,
  residual), concatenates them, applies channel attention (global pool, 1x1 conv,
  hard-sigmoid gate) and fuses them with a 1x1 conv.  Every conv but the attention one is
  conv + BatchNorm + SiLU.  Channels ``(64, 128, 256, 512, 1024) * widen``, blocks
  ``(3, 6, 6, 3) * deepen``; only the stride-32 output is used.
* **RTMCC head**: 7x7 conv to K channels, flatten to K tokens of ``h/32 * w/32`` values,
  ScaleNorm + Linear to 256, one gated attention unit (GAU: ``s = 128``, expansion 2,
  SiLU, squared-ReLU attention, scaled residual), then Linear to ``simcc_x (N, K, 2w)`` and
  ``simcc_y (N, K, 2h)`` (split ratio 2.0).

Parameter names follow the published checkpoints' layout (``backbone.stage1.1.blocks.0...``,
``head.gau.uv.weight``), so a state dict of that layout loads as is.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

from ..skeleton import NUM_KEYPOINTS

#: BatchNorm settings of CSPNeXt.
BN_EPS = 1e-3
BN_MOMENTUM = 0.03


@dataclass(frozen=True)
class RTMPoseSize:
    """One model size: CSPNeXt depth / width multipliers and the paper's cost figures."""

    deepen: float
    widen: float
    paper_params_m: float
    paper_gflops: float


#: The SpinePose sizes (input 256x192); cost figures from the SpinePose paper.
SIZES: dict[str, RTMPoseSize] = {
    "s": RTMPoseSize(0.33, 0.5, 5.98, 0.72),
    "m": RTMPoseSize(0.67, 0.75, 14.34, 1.98),
    "l": RTMPoseSize(1.0, 1.0, 28.66, 4.22),
}

#: CSPNeXt P5 stages: (in channels, out channels, blocks, residual blocks, SPP) before scaling.
_STAGES: tuple[tuple[int, int, int, bool, bool], ...] = (
    (64, 128, 3, True, False),
    (128, 256, 6, True, False),
    (256, 512, 6, True, False),
    (512, 1024, 3, False, True),
)


class ConvBNAct(nn.Sequential):
    """Conv (no bias) + BatchNorm + SiLU; ``groups=c_in`` makes it depthwise."""

    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int = 1, groups: int = 1):
        super().__init__()
        self.conv = nn.Conv2d(c_in, c_out, kernel, stride, kernel // 2, groups=groups, bias=False)
        self.bn = nn.BatchNorm2d(c_out, eps=BN_EPS, momentum=BN_MOMENTUM)
        self.activate = nn.SiLU(inplace=True)


class DepthwiseSeparable(nn.Sequential):
    """Depthwise ``k x k`` ConvBNAct then pointwise 1x1 ConvBNAct."""

    def __init__(self, c_in: int, c_out: int, kernel: int):
        super().__init__()
        self.depthwise_conv = ConvBNAct(c_in, c_in, kernel, groups=c_in)
        self.pointwise_conv = ConvBNAct(c_in, c_out, 1)


class CSPNeXtBlock(nn.Module):
    """3x3 conv, depthwise-separable 5x5 conv, optional residual. ``(N, C, H, W)`` kept."""

    def __init__(self, channels: int, add_identity: bool, kernel: int = 5):
        super().__init__()
        self.conv1 = ConvBNAct(channels, channels, 3)
        self.conv2 = DepthwiseSeparable(channels, channels, kernel)
        self.add_identity = add_identity

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.conv2(self.conv1(x))
        return out + x if self.add_identity else out


class ChannelAttention(nn.Module):
    """``x * hardsigmoid(conv1x1(avgpool(x)))``, ``(N, C, H, W)`` kept."""

    def __init__(self, channels: int):
        super().__init__()
        self.fc = nn.Conv2d(channels, channels, 1, bias=True)
        self.act = nn.Hardsigmoid()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        gate = self.act(self.fc(F.adaptive_avg_pool2d(x, 1)))
        return x * gate


class CSPLayer(nn.Module):
    """Cross-stage-partial layer of CSPNeXt blocks with channel attention.

    ``(N, c_in, H, W) -> (N, c_out, H, W)``; the branches carry ``c_out / 2`` channels.
    """

    def __init__(self, c_in: int, c_out: int, blocks: int, add_identity: bool):
        super().__init__()
        mid = int(c_out * 0.5)
        self.main_conv = ConvBNAct(c_in, mid, 1)
        self.short_conv = ConvBNAct(c_in, mid, 1)
        self.final_conv = ConvBNAct(2 * mid, c_out, 1)
        self.blocks = nn.Sequential(*(CSPNeXtBlock(mid, add_identity) for _ in range(blocks)))
        self.attention = ChannelAttention(2 * mid)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # the short branch first: the order of the published graphs (ONNX node order)
        short = self.short_conv(x)
        main = self.blocks(self.main_conv(x))
        return self.final_conv(self.attention(torch.cat((main, short), dim=1)))


class SPPBottleneck(nn.Module):
    """1x1 conv to ``c/2``, max-pools 5/9/13 (as chained 5x5 pools), concat, 1x1 conv."""

    def __init__(self, c_in: int, c_out: int, pools: int = 3):
        super().__init__()
        mid = c_in // 2
        self.conv1 = ConvBNAct(c_in, mid, 1)
        self.pools = pools
        self.conv2 = ConvBNAct(mid * (pools + 1), c_out, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv1(x)
        outs = [x]
        for _ in range(self.pools):
            outs.append(F.max_pool2d(outs[-1], 5, stride=1, padding=2))
        return self.conv2(torch.cat(outs, dim=1))


class CSPNeXt(nn.Module):
    """CSPNeXt P5 backbone: ``(N, 3, H, W) -> (N, 1024 * widen, H / 32, W / 32)``."""

    def __init__(self, deepen: float, widen: float):
        super().__init__()
        stem = int(_STAGES[0][0] * widen // 2)
        self.stem = nn.Sequential(
            ConvBNAct(3, stem, 3, stride=2),
            ConvBNAct(stem, stem, 3),
            ConvBNAct(stem, stem * 2, 3),
        )
        for i, (c_in, c_out, blocks, add_identity, spp) in enumerate(_STAGES, start=1):
            c_in, c_out = int(c_in * widen), int(c_out * widen)
            layers: list[nn.Module] = [ConvBNAct(c_in, c_out, 3, stride=2)]
            if spp:
                layers.append(SPPBottleneck(c_out, c_out))
            layers.append(CSPLayer(c_out, c_out, max(round(blocks * deepen), 1), add_identity))
            self.add_module(f"stage{i}", nn.Sequential(*layers))
        self.out_channels = int(_STAGES[-1][1] * widen)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)
        for i in range(1, len(_STAGES) + 1):
            x = getattr(self, f"stage{i}")(x)
        return x


class ScaleNorm(nn.Module):
    """``x / max(||x||_2 / sqrt(dim), eps) * g`` over the last dim (one learnt ``g``)."""

    def __init__(self, dim: int, eps: float = 1e-5):
        super().__init__()
        self.scale = dim**-0.5
        self.eps = eps
        self.g = nn.Parameter(torch.ones(1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        norm = torch.norm(x, dim=-1, keepdim=True) * self.scale
        return x / norm.clamp(min=self.eps) * self.g


class Scale(nn.Module):
    """Per-channel learnt multiplier over the last dim."""

    def __init__(self, dim: int):
        super().__init__()
        self.scale = nn.Parameter(torch.ones(dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.scale


class GAU(nn.Module):
    """Gated attention unit over K tokens: ``(N, K, d) -> (N, K, d)``.

    ``u, v, z = split(silu(W_uv · scalenorm(x)))`` with ``u, v`` of ``e = 2d`` dims and ``z``
    of ``s`` dims; ``q, k = z * gamma + beta``; ``A = relu(q k^T / sqrt(s))^2``;
    ``out = x * res_scale + W_o (u * (A v))``.
    """

    def __init__(self, dim: int = 256, s: int = 128, expansion: int = 2):
        super().__init__()
        self.s = s
        self.e = int(dim * expansion)
        self.o = nn.Linear(self.e, dim, bias=False)
        self.uv = nn.Linear(dim, 2 * self.e + s, bias=False)
        self.gamma = nn.Parameter(torch.rand(2, s))
        self.beta = nn.Parameter(torch.rand(2, s))
        self.ln = ScaleNorm(dim)
        self.res_scale = Scale(dim)
        self.sqrt_s = math.sqrt(s)
        nn.init.xavier_uniform_(self.uv.weight)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        uv = F.silu(self.uv(self.ln(x)))
        u, v, base = torch.split(uv, [self.e, self.e, self.s], dim=2)
        base = base.unsqueeze(2) * self.gamma[None, None, :] + self.beta  # (N, K, 2, s)
        q, k = torch.unbind(base, dim=2)
        kernel = torch.square(F.relu(torch.bmm(q, k.transpose(1, 2)) / self.sqrt_s))
        main = self.o(u * torch.bmm(kernel, v))
        return self.res_scale(x) + main


class RTMCCHead(nn.Module):
    """SimCC head: ``(N, C, h, w)`` features -> simcc_x ``(N, K, 2W)``, simcc_y ``(N, K, 2H)``.

    Args:
        in_channels: backbone channels ``C``.
        num_keypoints: ``K``.
        input_wh: model input ``(W, H)`` px; features are ``(H / 32, W / 32)``.
        hidden: token dims after the MLP (256).
        split_ratio: SimCC bins per input px (2.0).
    """

    def __init__(
        self,
        in_channels: int,
        num_keypoints: int = NUM_KEYPOINTS,
        input_wh: tuple[int, int] = (192, 256),
        hidden: int = 256,
        split_ratio: float = 2.0,
    ):
        super().__init__()
        w, h = input_wh
        cells = (w // 32) * (h // 32)
        self.final_layer = nn.Conv2d(in_channels, num_keypoints, 7, padding=3)
        self.mlp = nn.Sequential(ScaleNorm(cells), nn.Linear(cells, hidden, bias=False))
        self.gau = GAU(hidden, s=128, expansion=2)
        self.cls_x = nn.Linear(hidden, int(w * split_ratio), bias=False)
        self.cls_y = nn.Linear(hidden, int(h * split_ratio), bias=False)

    def forward(self, feats: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        tokens = self.gau(self.mlp(torch.flatten(self.final_layer(feats), 2)))
        return self.cls_x(tokens), self.cls_y(tokens)


class RTMPose(nn.Module):
    """RTMPose top-down model: ``(N, 3, H, W)`` normalised crops -> (simcc_x, simcc_y).

    Args:
        size: ``"s"``, ``"m"`` or ``"l"`` (see :data:`SIZES`).
        num_keypoints: ``K`` (37 for SpinePose).
        input_wh: model input ``(W, H)`` px, multiples of 32 (``(192, 256)``).

    ``forward`` returns simcc_x ``(N, K, 2W)`` and simcc_y ``(N, K, 2H)`` float logits.
    """

    def __init__(
        self,
        size: str = "s",
        num_keypoints: int = NUM_KEYPOINTS,
        input_wh: tuple[int, int] = (192, 256),
    ):
        super().__init__()
        if size not in SIZES:
            raise ValueError(f"size: expected one of {sorted(SIZES)}, got {size!r}")
        if input_wh[0] % 32 or input_wh[1] % 32:
            raise ValueError(f"input_wh: expected multiples of 32, got {input_wh}")
        spec = SIZES[size]
        self.size = size
        self.input_wh = (int(input_wh[0]), int(input_wh[1]))
        self.num_keypoints = num_keypoints
        self.backbone = CSPNeXt(spec.deepen, spec.widen)
        self.head = RTMCCHead(self.backbone.out_channels, num_keypoints, self.input_wh)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.head(self.backbone(x))


def build_rtmpose(
    size: str = "s",
    *,
    seed: int | None = 0,
    num_keypoints: int = NUM_KEYPOINTS,
    input_wh: tuple[int, int] = (192, 256),
) -> RTMPose:
    """An RTMPose model in eval mode with random weights (``seed``: reproducible ones).

    BatchNorm statistics and affine parameters, ScaleNorm gains and the GAU's residual
    scale are randomised too (around their initial values), so that an export / conversion
    round trip exercises every parameter.
    """
    if seed is not None:
        torch.manual_seed(seed)
    model = RTMPose(size, num_keypoints, input_wh)
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, nn.BatchNorm2d):
                assert module.running_mean is not None and module.running_var is not None
                module.running_mean.normal_(0.0, 0.1)
                module.running_var.uniform_(0.5, 1.5)
                module.weight.uniform_(0.5, 1.5)
                module.bias.normal_(0.0, 0.1)
            elif isinstance(module, ScaleNorm):
                module.g.uniform_(0.5, 1.5)
            elif isinstance(module, Scale):
                module.scale.uniform_(0.5, 1.5)
    return model.eval()


def count_parameters(model: nn.Module) -> int:
    """Number of learnt parameters (BatchNorm running statistics excluded)."""
    return sum(p.numel() for p in model.parameters())


def count_macs(model: RTMPose, batch: int = 1) -> int:
    """Multiply-accumulates of one forward pass of ``batch`` crops.

    Counts convs (``out elements * c_in / groups * k * k``, bias not counted), linears
    (``out elements * in features``) and the GAU's two batched matmuls (``N K^2 (s + e)``):
    the convention of mmcv's complexity counter behind the papers' "GFLOPs", which are
    multiply-accumulates.  Element-wise ops (BatchNorm, activations, pooling, ScaleNorm)
    are not counted (under 1% here).  :func:`count_macs_torch` cross-checks it.  A model
    built on the ``"meta"`` device is counted without computing anything.
    """
    total = 0

    def conv_hook(module: nn.Module, args: tuple[torch.Tensor], out: torch.Tensor) -> None:
        nonlocal total
        assert isinstance(module, nn.Conv2d)
        k_h, k_w = module.kernel_size
        total += out.numel() * (module.in_channels // module.groups) * k_h * k_w

    def linear_hook(module: nn.Module, args: tuple[torch.Tensor], out: torch.Tensor) -> None:
        nonlocal total
        assert isinstance(module, nn.Linear)
        total += out.numel() * module.in_features

    def gau_hook(module: nn.Module, args: tuple[torch.Tensor], out: torch.Tensor) -> None:
        nonlocal total
        assert isinstance(module, GAU)
        n, k, _ = args[0].shape
        total += n * k * k * (module.s + module.e)

    hooks = {nn.Conv2d: conv_hook, nn.Linear: linear_hook, GAU: gau_hook}
    handles = [
        m.register_forward_hook(hook)
        for m in model.modules()
        for kind, hook in hooks.items()
        if isinstance(m, kind)
    ]
    try:
        w, h = model.input_wh
        device = next(model.parameters()).device
        with torch.no_grad():
            model(torch.zeros(batch, 3, h, w, device=device))
    finally:
        for handle in handles:
            handle.remove()
    return total


def count_macs_torch(model: RTMPose) -> int:
    """Multiply-accumulates of one crop by ``torch.utils.flop_counter`` (its FLOPs / 2).

    torch's counter reports 2 FLOPs per multiply-add; halving it gives the convention of
    the papers' table.  Works on a ``"meta"``-device model too.
    """
    from torch.utils.flop_counter import FlopCounterMode

    counter = FlopCounterMode(display=False)
    w, h = model.input_wh
    device = next(model.parameters()).device
    with torch.no_grad(), counter:
        model(torch.zeros(1, 3, h, w, device=device))
    return int(counter.get_total_flops()) // 2
