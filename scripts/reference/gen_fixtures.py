"""Generate the reference fixtures in tests/fixtures/ from the PyTorch reference GPT.

Rerun (from the repository root; needs Debian's python3-torch, nothing else):

    /usr/bin/python3 scripts/reference/gen_fixtures.py            # writes tests/fixtures/*
    /usr/bin/python3 scripts/reference/gen_fixtures.py --out DIR  # somewhere else
    /usr/bin/python3 scripts/reference/gen_fixtures.py --only gpt2_like

Output is deterministic: rerunning on the same machine with the same torch gives
byte-identical files (check with `sha256sum tests/fixtures/*/*`). The script runs
single-threaded for that reason.

What it does, per fixture:
  1. torch.manual_seed(seed); build scripts/reference/gpt_ref.GPT in float32 with
     GPT-2 init (N(0,0.02); attn/mlp c_proj.weight N(0, 0.02/sqrt(2*n_layer));
     biases 0; layernorm weights 1).
  2. Draw idx ~ U[0,V) and targets ~ U[0,V) of shape [B,T]; about 20% of targets
     are set to -1 (ignored), at least one and never all.
  3. Convert a copy of the model to float64 and compute everything below in float64.

Files in tests/fixtures/<name>/:
  config.json         {"model": {vocab_size, block_size, n_layer, n_head, n_embd, bias,
                       dropout, activation, layernorm, mlp, tie_embeddings,
                       layer_norm_epsilon}, "batch": B, "seq_len": T,
                       "optim": {lr, beta1, beta2, eps, weight_decay, grad_clip},
                       "seed", "torch_version", "generator"}
  model.safetensors   initial float32 weights (F32), HF GPT-2 names without the
                      "transformer." prefix (wte.weight, wpe.weight, h.{i}.ln_1.weight,
                      h.{i}.attn.c_attn.weight [C,3C] = Conv1D [in,out], ...,
                      lm_head.weight only when untied).
  expect.safetensors  float64 truth computed from those weights:
      idx            I32 [B,T]
      targets        I32 [B,T]   (-1 = ignored position)
      logits         F64 [B,T,V]
      loss           F64 [1]     mean cross-entropy over targets != -1
      grad.<param>   F64         d loss / d param at the initial weights (every param)
      after3.<param> F64         params after 3 AdamW steps (each: zero_grad, fwd, bwd,
                                 clip_grad_norm_(grad_clip), step) on the same batch
      losses         F64 [10]    loss before each of 10 such steps; losses[0] == loss
      grad_norms     F64 [10]    pre-clip global L2 grad norm at each of those steps

Optimizer semantics (torch.optim.AdamW, fused=False, constant lr, no schedule):
  weight decay only on params with dim >= 2 (wte, wpe, lm_head, all matmul weights);
  clip: total = ||all grads||_2; coef = min(1, grad_clip / (total + 1e-6)); g *= coef;
  step t (1-based): p *= 1 - lr*wd;  m = b1*m + (1-b1)*g;  v = b2*v + (1-b2)*g*g;
  p -= lr / (1-b1^t) * m / (sqrt(v) / sqrt(1-b2^t) + eps).
  grad_clip is chosen as ~half the initial gradient norm (3 significant digits) so
  clipping is active at step 1.

Self-checks run every time (the script fails if any does not hold):
  * float32 and float64 loss agree to 1e-5 relative, logits to 1e-5 (abs, scaled);
  * an independent functional float64 forward (explicit per-head loops and formulas,
    reading the weights by name) reproduces the module's logits and loss;
  * an explicit clip + AdamW implementation of the formulas above reproduces torch's
    after3.* weights and grad norms;
  * torch.autograd.gradcheck (finite differences) on a tiny variant of every config.
"""

from __future__ import annotations

import argparse
import copy
import json
import math
import os
import sys

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import safetensors_io  # noqa: E402
from gpt_ref import GPT, GPTConfig, make_optimizer, train_step  # noqa: E402

try:
    from torch.func import functional_call  # torch >= 2.0
except ImportError:
    from torch.nn.utils.stateless import functional_call

REPO = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
GENERATOR = "scripts/reference/gen_fixtures.py"

OPTIM = {"lr": 1e-3, "beta1": 0.9, "beta2": 0.95, "eps": 1e-8, "weight_decay": 0.1}
N_STEPS = 10
N_AFTER = 3

FIXTURES = [
    dict(name="gpt2_like", seed=1001, B=3, T=13,
         model=dict(vocab_size=53, block_size=16, n_layer=2, n_head=2, n_embd=32, bias=True,
                    dropout=0.0, activation="gelu_tanh", layernorm=True, mlp=True,
                    tie_embeddings=True, layer_norm_epsilon=1e-5)),
    dict(name="nanogpt_nobias", seed=1002, B=2, T=16,
         model=dict(vocab_size=41, block_size=16, n_layer=2, n_head=4, n_embd=32, bias=False,
                    dropout=0.0, activation="gelu", layernorm=True, mlp=True,
                    tie_embeddings=True, layer_norm_epsilon=1e-5)),
    dict(name="tanh_untied_odd", seed=1003, B=3, T=9,
         model=dict(vocab_size=37, block_size=12, n_layer=2, n_head=3, n_embd=27, bias=True,
                    dropout=0.0, activation="tanh", layernorm=True, mlp=True,
                    tie_embeddings=False, layer_norm_epsilon=1e-5)),
    dict(name="attn_only", seed=1004, B=2, T=10,
         model=dict(vocab_size=29, block_size=10, n_layer=2, n_head=1, n_embd=20, bias=False,
                    dropout=0.0, activation="relu", layernorm=False, mlp=False,
                    tie_embeddings=False, layer_norm_epsilon=1e-5)),
]


def make_batch(V: int, B: int, T: int):
    idx = torch.randint(0, V, (B, T))
    targets = torch.randint(0, V, (B, T))
    ignore = torch.rand(B, T) < 0.2
    if not ignore.any():
        ignore[0, 0] = True
    if ignore.all():
        ignore[0, 0] = False
    targets = targets.masked_fill(ignore, -1)
    return idx, targets


# ---------------------------------------------------------------- independent checks

def functional_forward(sd: dict, cfg: GPTConfig, idx, targets):
    """Second, independent float64 forward written from the spec, reading weights by name."""
    B, T = idx.shape
    C, H = cfg.n_embd, cfg.n_head
    D = C // H

    def ln(x, prefix):
        if not cfg.layernorm:
            return x
        mu = x.mean(-1, keepdim=True)
        var = ((x - mu) ** 2).mean(-1, keepdim=True)
        y = (x - mu) / torch.sqrt(var + cfg.layer_norm_epsilon) * sd[prefix + ".weight"]
        if cfg.bias:
            y = y + sd[prefix + ".bias"]
        return y

    def lin(x, prefix):
        y = x @ sd[prefix + ".weight"]
        if cfg.bias:
            y = y + sd[prefix + ".bias"]
        return y

    def act(x):
        if cfg.activation == "gelu_tanh":
            return 0.5 * x * (1 + torch.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * x ** 3)))
        if cfg.activation == "gelu":
            return 0.5 * x * (1 + torch.erf(x / math.sqrt(2)))
        if cfg.activation == "tanh":
            return torch.tanh(x)
        return torch.clamp(x, min=0)

    x = sd["wte.weight"][idx] + sd["wpe.weight"][:T][None]
    for i in range(cfg.n_layer):
        p = f"h.{i}."
        a = lin(ln(x, p + "ln_1"), p + "attn.c_attn")
        heads = []
        for h in range(H):
            q = a[:, :, h * D:(h + 1) * D]
            k = a[:, :, C + h * D:C + (h + 1) * D]
            v = a[:, :, 2 * C + h * D:2 * C + (h + 1) * D]
            s = torch.einsum("btd,bsd->bts", q, k) / math.sqrt(D)
            s = s + torch.triu(torch.full((T, T), -math.inf, dtype=s.dtype), diagonal=1)
            s = s - s.max(-1, keepdim=True).values
            w = s.exp() / s.exp().sum(-1, keepdim=True)
            heads.append(torch.einsum("bts,bsd->btd", w, v))
        x = x + lin(torch.cat(heads, -1), p + "attn.c_proj")
        if cfg.mlp:
            x = x + lin(act(lin(ln(x, p + "ln_2"), p + "mlp.c_fc")), p + "mlp.c_proj")
    x = ln(x, "ln_f")
    W = sd["wte.weight"] if cfg.tie_embeddings else sd["lm_head.weight"]
    logits = torch.einsum("btc,vc->btv", x, W)
    lse = torch.logsumexp(logits, -1)
    valid = targets != -1
    tgt = targets.clamp(min=0).long()
    nll = lse - logits.gather(-1, tgt[..., None])[..., 0]
    loss = nll[valid].sum() / valid.sum()
    return logits, loss


def explicit_adamw(model64_init: GPT, idx, targets, optim: dict, grad_clip: float, n_steps: int):
    """Clip + AdamW written out from the formulas; returns (params by name, grad norms)."""
    model = copy.deepcopy(model64_init)
    names = [n for n, _ in model.named_parameters()]
    params = dict(model.named_parameters())
    m = {n: torch.zeros_like(p) for n, p in params.items()}
    v = {n: torch.zeros_like(p) for n, p in params.items()}
    b1, b2, lr, eps, wd = optim["beta1"], optim["beta2"], optim["lr"], optim["eps"], optim["weight_decay"]
    norms = []
    for t in range(1, n_steps + 1):
        for p in params.values():
            p.grad = None
        _, loss = model(idx, targets)
        loss.backward()
        with torch.no_grad():
            total = math.sqrt(sum(float((params[n].grad ** 2).sum()) for n in names))
            norms.append(total)
            coef = min(1.0, grad_clip / (total + 1e-6))
            for n in names:
                p, g = params[n], params[n].grad * coef
                if p.dim() >= 2:
                    p.mul_(1 - lr * wd)
                m[n] = b1 * m[n] + (1 - b1) * g
                v[n] = b2 * v[n] + (1 - b2) * g * g
                denom = v[n].sqrt() / math.sqrt(1 - b2 ** t) + eps
                p.sub_(lr / (1 - b1 ** t) * m[n] / denom)
    return {n: p.detach().clone() for n, p in params.items()}, norms


def gradcheck_tiny(model_cfg: dict, seed: int):
    """Finite-difference check of the float64 reference on a tiny variant of a config."""
    d = dict(model_cfg)
    d.update(vocab_size=7, block_size=5, n_layer=2, n_embd=2 * d["n_head"] if d["n_head"] > 1 else 4)
    cfg = GPTConfig(**d)
    torch.manual_seed(seed)
    model = GPT(cfg).double()
    with torch.no_grad():  # non-trivial biases / layernorm params so their grads are exercised
        for p in model.parameters():
            p.add_(0.3 * torch.randn_like(p))
    idx, targets = make_batch(cfg.vocab_size, 2, 4)
    names = [n for n, _ in model.named_parameters()]
    inputs = tuple(p.detach().clone().requires_grad_(True) for p in model.parameters())

    def f(*ps):
        return functional_call(model, dict(zip(names, ps)), (idx, targets))[1]

    ok = torch.autograd.gradcheck(f, inputs, eps=1e-6, atol=1e-7, rtol=1e-5)
    assert ok
    return sum(p.numel() for p in inputs)


# ---------------------------------------------------------------- fixture generation

def check_close(what: str, got, want, rtol: float, atol: float = 0.0):
    got, want = torch.as_tensor(got, dtype=torch.float64), torch.as_tensor(want, dtype=torch.float64)
    err = (got - want).abs().max().item()
    lim = atol + rtol * want.abs().max().item()
    if not err <= lim:
        raise AssertionError(f"self-check failed: {what}: max abs err {err:.3e} > {lim:.3e}")
    return err


def generate(fx: dict, out_root: str, verbose: bool = True):
    name = fx["name"]
    cfg = GPTConfig.from_dict(fx["model"])
    B, T = fx["B"], fx["T"]
    assert T <= cfg.block_size

    torch.manual_seed(fx["seed"])
    model32 = GPT(cfg)
    assert all(p.dtype == torch.float32 for p in model32.parameters())
    idx, targets = make_batch(cfg.vocab_size, B, T)
    n_ignored = int((targets == -1).sum())
    assert 0 < n_ignored < B * T

    model64 = copy.deepcopy(model32).double()
    model32.train()
    model64.train()

    # forward + backward at the initial weights, float64
    logits, loss = model64(idx, targets)
    loss.backward()
    grads = {n: p.grad.detach().clone() for n, p in model64.named_parameters()}
    model64.zero_grad(set_to_none=True)
    logits, loss = logits.detach(), loss.detach()
    gnorm0 = math.sqrt(sum(float((g ** 2).sum()) for g in grads.values()))
    grad_clip = float(f"{0.5 * gnorm0:.3g}")
    assert grad_clip < gnorm0

    # self-check 1: float32 model agrees with float64 truth
    with torch.no_grad():
        logits32, loss32 = model32(idx, targets)
    rel = abs(loss32.item() - loss.item()) / abs(loss.item())
    if not rel <= 1e-5:
        raise AssertionError(f"self-check failed: {name}: fp32/fp64 loss rel diff {rel:.3e}")
    check_close(f"{name}: fp32 vs fp64 logits", logits32, logits, rtol=1e-5)

    # self-check 2: independent functional forward
    sd = {n: p.detach() for n, p in model64.named_parameters()}
    with torch.no_grad():
        flogits, floss = functional_forward(sd, cfg, idx, targets)
    check_close(f"{name}: functional logits", flogits, logits, rtol=1e-12)
    check_close(f"{name}: functional loss", floss, loss, rtol=1e-12)

    # 10 AdamW steps on the same batch, float64; snapshot after 3
    optim = dict(OPTIM, grad_clip=grad_clip)
    train = copy.deepcopy(model64)
    opt = make_optimizer(train, **OPTIM)
    losses, norms, after3 = [], [], None
    for step in range(N_STEPS):
        l, n = train_step(train, opt, idx, targets, grad_clip)
        losses.append(l)
        norms.append(n)
        if step + 1 == N_AFTER:
            after3 = {k: p.detach().clone() for k, p in train.named_parameters()}
    check_close(f"{name}: losses[0] vs loss", losses[0], loss.item(), rtol=1e-14)
    check_close(f"{name}: grad_norms[0]", norms[0], gnorm0, rtol=1e-12)
    assert norms[0] > grad_clip, "clipping must trigger on step 1"
    assert losses[-1] < losses[0], "loss should go down on a fixed batch"

    # self-check 3: explicit AdamW formulas reproduce torch
    eparams, enorms = explicit_adamw(model64, idx, targets, optim, grad_clip, N_AFTER)
    for k in after3:
        check_close(f"{name}: explicit AdamW {k}", eparams[k], after3[k], rtol=1e-10, atol=1e-14)
    check_close(f"{name}: explicit grad norms", enorms, norms[:N_AFTER], rtol=1e-12)

    # write
    d = os.path.join(out_root, name)
    os.makedirs(d, exist_ok=True)
    config = {
        "model": cfg.to_dict(),
        "batch": B,
        "seq_len": T,
        "optim": optim,
        "seed": fx["seed"],
        "torch_version": torch.__version__,
        "generator": GENERATOR,
    }
    with open(os.path.join(d, "config.json"), "w") as f:
        f.write(json.dumps(config, indent=2) + "\n")
    meta = {"format": "pt", "generator": GENERATOR, "fixture": name}
    safetensors_io.save({k: p.detach() for k, p in model32.named_parameters()},
                        os.path.join(d, "model.safetensors"), meta)
    expect = {
        "idx": idx.to(torch.int32),
        "targets": targets.to(torch.int32),
        "logits": logits,
        "loss": loss.reshape(1),
    }
    for k, g in grads.items():
        expect["grad." + k] = g
    for k, p in after3.items():
        expect["after3." + k] = p
    expect["losses"] = torch.tensor(losses, dtype=torch.float64)
    expect["grad_norms"] = torch.tensor(norms, dtype=torch.float64)
    for k, t in expect.items():
        if t.is_floating_point():
            assert t.dtype == torch.float64, k
    safetensors_io.save(expect, os.path.join(d, "expect.safetensors"), meta)

    # read back
    back, _ = safetensors_io.load(os.path.join(d, "model.safetensors"))
    for k, p in model32.named_parameters():
        assert torch.equal(back[k], p.detach()), k
    back, _ = safetensors_io.load(os.path.join(d, "expect.safetensors"))
    for k, t in expect.items():
        assert torch.equal(back[k], t), k

    size = sum(os.path.getsize(os.path.join(d, f)) for f in os.listdir(d))
    if verbose:
        print(f"{name}: params={sum(p.numel() for p in model32.parameters())} "
              f"loss={loss.item():.6f} loss32_rel={rel:.1e} grad_norm0={gnorm0:.6f} "
              f"grad_clip={grad_clip} ignored={n_ignored}/{B * T} "
              f"loss[9]={losses[-1]:.6f} size={size}B", file=sys.stderr)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=os.path.join(REPO, "tests", "fixtures"))
    ap.add_argument("--only", action="append", help="fixture name (repeatable)")
    ap.add_argument("--skip-gradcheck", action="store_true")
    args = ap.parse_args()

    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    torch.set_default_dtype(torch.float32)

    todo = [fx for fx in FIXTURES if not args.only or fx["name"] in args.only]
    if args.only and len(todo) != len(args.only):
        known = [fx["name"] for fx in FIXTURES]
        ap.error(f"unknown fixture in {args.only}; known: {known}")

    if not args.skip_gradcheck:
        for fx in todo:
            n = gradcheck_tiny(fx["model"], fx["seed"] + 500)
            print(f"gradcheck ok: tiny {fx['name']} ({n} params)", file=sys.stderr)
    for fx in todo:
        generate(fx, args.out)


if __name__ == "__main__":
    main()
