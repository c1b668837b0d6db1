"""PyTorch reference GPT for gptkit.

Written for this project as the "truth" that the C++ engine is checked against
(see scripts/reference/README.md). It is deliberately plain: no fused kernels,
no tricks, every op spelled out, so that it can be run in float64.

Parameter names and layouts follow Hugging Face GPT-2 (GPT2LMHeadModel) without
the "transformer." prefix:

    wte.weight                 [V, C]
    wpe.weight                 [block_size, C]
    h.{i}.ln_1.weight / .bias  [C]            (only if layernorm; bias only if bias)
    h.{i}.attn.c_attn.weight   [C, 3C]        Conv1D layout [in, out]: y = x @ W + b
    h.{i}.attn.c_attn.bias     [3C]
    h.{i}.attn.c_proj.weight   [C, C]
    h.{i}.attn.c_proj.bias     [C]
    h.{i}.ln_2.weight / .bias  [C]            (only if layernorm and mlp)
    h.{i}.mlp.c_fc.weight      [C, 4C]        (only if mlp)
    h.{i}.mlp.c_fc.bias        [4C]
    h.{i}.mlp.c_proj.weight    [4C, C]
    h.{i}.mlp.c_proj.bias      [C]
    ln_f.weight / .bias        [C]            (only if layernorm)
    lm_head.weight             [V, C]         (only if not tie_embeddings)

Biases exist only when config.bias is true.
"""

from __future__ import annotations

import inspect
import math
from dataclasses import asdict, dataclass, fields

import torch
import torch.nn as nn
import torch.nn.functional as F

ACTIVATIONS = ("gelu_tanh", "gelu", "tanh", "relu")
HAVE_SDPA = hasattr(F, "scaled_dot_product_attention")  # torch >= 2.0


@dataclass
class GPTConfig:
    vocab_size: int = 65
    block_size: int = 64
    n_layer: int = 4
    n_head: int = 4
    n_embd: int = 128
    bias: bool = False
    dropout: float = 0.0
    activation: str = "gelu"
    layernorm: bool = True
    mlp: bool = True
    tie_embeddings: bool = True
    layer_norm_epsilon: float = 1e-5

    def __post_init__(self):
        if self.activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {ACTIVATIONS}, got {self.activation!r}")
        if self.n_embd % self.n_head != 0:
            raise ValueError(f"n_embd ({self.n_embd}) must be divisible by n_head ({self.n_head})")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "GPTConfig":
        known = {f.name for f in fields(cls)}
        unknown = set(d) - known
        if unknown:
            raise ValueError(f"unknown config keys: {sorted(unknown)}")
        return cls(**d)


def activation_fn(name: str, x: torch.Tensor) -> torch.Tensor:
    if name == "gelu_tanh":
        return F.gelu(x, approximate="tanh")
    if name == "gelu":
        return F.gelu(x)  # exact, erf-based
    if name == "tanh":
        return torch.tanh(x)
    if name == "relu":
        return F.relu(x)
    raise ValueError(name)


class Conv1D(nn.Module):
    """HF GPT-2 style projection: weight stored [in, out], y = x @ W (+ b)."""

    def __init__(self, n_in: int, n_out: int, bias: bool):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(n_in, n_out))
        self.bias = nn.Parameter(torch.zeros(n_out)) if bias else None

    def forward(self, x):
        y = x @ self.weight
        if self.bias is not None:
            y = y + self.bias
        return y


class LayerNorm(nn.Module):
    """LayerNorm with optional bias (biased variance, eps inside the sqrt)."""

    def __init__(self, n: int, bias: bool, eps: float):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(n))
        self.bias = nn.Parameter(torch.zeros(n)) if bias else None
        self.eps = eps

    def forward(self, x):
        return F.layer_norm(x, self.weight.shape, self.weight, self.bias, self.eps)


def make_norm(cfg: GPTConfig) -> nn.Module:
    if cfg.layernorm:
        return LayerNorm(cfg.n_embd, cfg.bias, cfg.layer_norm_epsilon)
    return nn.Identity()


class CausalSelfAttention(nn.Module):
    def __init__(self, cfg: GPTConfig, attn_impl: str = "manual"):
        super().__init__()
        self.n_head = cfg.n_head
        self.n_embd = cfg.n_embd
        self.c_attn = Conv1D(cfg.n_embd, 3 * cfg.n_embd, cfg.bias)
        self.c_proj = Conv1D(cfg.n_embd, cfg.n_embd, cfg.bias)
        self.attn_dropout = nn.Dropout(cfg.dropout)
        self.resid_dropout = nn.Dropout(cfg.dropout)
        self.dropout = cfg.dropout
        if attn_impl not in ("manual", "sdpa"):
            raise ValueError(attn_impl)
        if attn_impl == "sdpa" and not HAVE_SDPA:
            raise ValueError("attn_impl='sdpa' needs torch >= 2.0 (F.scaled_dot_product_attention)")
        self.attn_impl = attn_impl

    def forward(self, x):
        B, T, C = x.shape
        H = self.n_head
        D = C // H
        qkv = self.c_attn(x)
        q, k, v = qkv.split(C, dim=2)
        # head h owns columns [h*D, (h+1)*D) of q, k and v
        q = q.view(B, T, H, D).transpose(1, 2)  # [B, H, T, D]
        k = k.view(B, T, H, D).transpose(1, 2)
        v = v.view(B, T, H, D).transpose(1, 2)
        if self.attn_impl == "sdpa":
            y = F.scaled_dot_product_attention(
                q, k, v, attn_mask=None,
                dropout_p=self.dropout if self.training else 0.0, is_causal=True)
        else:
            att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(D))
            mask = torch.ones(T, T, dtype=torch.bool, device=x.device).tril()
            att = att.masked_fill(~mask, float("-inf"))
            att = F.softmax(att, dim=-1)
            att = self.attn_dropout(att)
            y = att @ v  # [B, H, T, D]
        y = y.transpose(1, 2).contiguous().view(B, T, C)
        return self.resid_dropout(self.c_proj(y))


class MLP(nn.Module):
    def __init__(self, cfg: GPTConfig):
        super().__init__()
        self.c_fc = Conv1D(cfg.n_embd, 4 * cfg.n_embd, cfg.bias)
        self.c_proj = Conv1D(4 * cfg.n_embd, cfg.n_embd, cfg.bias)
        self.dropout = nn.Dropout(cfg.dropout)
        self.activation = cfg.activation

    def forward(self, x):
        h = activation_fn(self.activation, self.c_fc(x))
        return self.dropout(self.c_proj(h))


class Block(nn.Module):
    def __init__(self, cfg: GPTConfig, attn_impl: str = "manual"):
        super().__init__()
        self.ln_1 = make_norm(cfg)
        self.attn = CausalSelfAttention(cfg, attn_impl)
        if cfg.mlp:
            self.ln_2 = make_norm(cfg)
            self.mlp = MLP(cfg)
        else:
            self.ln_2 = None
            self.mlp = None

    def forward(self, x):
        x = x + self.attn(self.ln_1(x))
        if self.mlp is not None:
            x = x + self.mlp(self.ln_2(x))
        return x


class GPT(nn.Module):
    def __init__(self, cfg: GPTConfig, attn_impl: str = "manual"):
        super().__init__()
        self.config = cfg
        self.wte = nn.Embedding(cfg.vocab_size, cfg.n_embd)
        self.wpe = nn.Embedding(cfg.block_size, cfg.n_embd)
        self.drop = nn.Dropout(cfg.dropout)
        self.h = nn.ModuleList([Block(cfg, attn_impl) for _ in range(cfg.n_layer)])
        self.ln_f = make_norm(cfg)
        if cfg.tie_embeddings:
            self.lm_head = None
        else:
            self.lm_head = nn.Module()
            self.lm_head.weight = nn.Parameter(torch.empty(cfg.vocab_size, cfg.n_embd))
        self.init_weights()

    @torch.no_grad()
    def init_weights(self):
        """GPT-2 / nanoGPT init, drawn from the global torch RNG in named_parameters() order.

        Matmul/embedding weights ~ N(0, 0.02); attn.c_proj.weight and mlp.c_proj.weight
        ~ N(0, 0.02 / sqrt(2 * n_layer)); biases 0; layernorm weights 1.
        """
        proj_std = 0.02 / math.sqrt(2 * self.config.n_layer)
        for name, p in self.named_parameters():
            if name.endswith(".bias"):
                p.zero_()
            elif ".ln_" in name or name.startswith("ln_f.") or name.startswith("ln_"):
                p.fill_(1.0)
            elif name.endswith("attn.c_proj.weight") or name.endswith("mlp.c_proj.weight"):
                p.normal_(0.0, proj_std)
            else:
                p.normal_(0.0, 0.02)

    def num_params(self) -> int:
        return sum(p.numel() for p in self.parameters())

    def forward(self, idx, targets=None):
        B, T = idx.shape
        if T > self.config.block_size:
            raise ValueError(f"sequence length {T} > block_size {self.config.block_size}")
        pos = torch.arange(T, device=idx.device)
        x = self.wte(idx) + self.wpe(pos)
        x = self.drop(x)
        for block in self.h:
            x = block(x)
        x = self.ln_f(x)
        w_out = self.wte.weight if self.lm_head is None else self.lm_head.weight
        logits = x @ w_out.t()
        loss = None
        if targets is not None:
            # mean over positions whose target != -1
            loss = F.cross_entropy(logits.reshape(-1, logits.size(-1)), targets.reshape(-1).long(),
                                   ignore_index=-1)
        return logits, loss


def param_groups(model: nn.Module, weight_decay: float):
    """Weight decay on params with dim >= 2 (embeddings, lm_head, matmul weights) only."""
    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    return [
        {"params": decay, "weight_decay": weight_decay},
        {"params": no_decay, "weight_decay": 0.0},
    ]


def make_optimizer(model: nn.Module, lr: float, beta1: float, beta2: float, eps: float,
                   weight_decay: float, **kw) -> torch.optim.AdamW:
    """torch.optim.AdamW (decoupled weight decay), never the fused kernel; foreach default."""
    if "fused" in inspect.signature(torch.optim.AdamW.__init__).parameters:
        kw.setdefault("fused", False)  # the argument exists from torch 2.0 on
    return torch.optim.AdamW(param_groups(model, weight_decay), lr=lr, betas=(beta1, beta2),
                             eps=eps, **kw)


def train_step(model: GPT, opt: torch.optim.Optimizer, idx, targets, grad_clip: float):
    """One step: zero_grad, forward+loss, backward, clip (global norm), AdamW step.

    Returns (loss, pre-clip global grad norm) as Python floats.
    """
    opt.zero_grad(set_to_none=True)
    _, loss = model(idx, targets)
    loss.backward()
    norm = torch.nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
    opt.step()
    return loss.item(), float(norm)
