"""Hugging Face GPT-2 interop: write the tests/fixtures/hf_gpt2/ fixture, or check a gptkit export.

Needs only Debian's python3-torch (no `transformers`, no `safetensors` package). Run from anywhere:

    /usr/bin/python3 scripts/reference/gen_hf_fixture.py                 # writes tests/fixtures/hf_gpt2/
    /usr/bin/python3 scripts/reference/gen_hf_fixture.py --out DIR       # somewhere else
    /usr/bin/python3 scripts/reference/gen_hf_fixture.py --check-export CKPT --text-ids 1,2,3,...
    /usr/bin/python3 scripts/reference/gen_hf_fixture.py --check-export CKPT --ids-file ids.txt

1. Fixture mode (default). Writes a random small GPT-2 exactly as transformers'
   GPT2LMHeadModel.save_pretrained (+ GPT2Tokenizer.save_pretrained's vocab files) lays it out:

   config.json             GPT2Config.to_json_string() keys (sorted, indent 2), incl. n_ctx as the
                           hub's gpt2 config has it; architectures ["GPT2LMHeadModel"].
   generation_config.json  what save_pretrained writes beside it for a causal LM.
   model.safetensors       metadata {"format": "pt"}; names WITH the "transformer." prefix:
                           transformer.wte.weight [V,C], transformer.wpe.weight [P,C],
                           transformer.h.{i}.ln_1.{weight,bias} [C],
                           transformer.h.{i}.attn.c_attn.{weight [C,3C], bias [3C]}   (Conv1D: y = x @ W + b)
                           transformer.h.{i}.attn.c_proj.{weight [C,C], bias [C]},
                           transformer.h.{i}.ln_2.{weight,bias} [C],
                           transformer.h.{i}.mlp.c_fc.{weight [C,4C], bias [4C]},
                           transformer.h.{i}.mlp.c_proj.{weight [4C,C], bias [C]},
                           transformer.ln_f.{weight,bias} [C]          -- all F32, and the buffers
                           older checkpoints carry: transformer.h.{i}.attn.bias BOOL [1,1,P,P]
                           (lower-triangular causal mask) and transformer.h.{i}.attn.masked_bias
                           F32 [] (-1e4). No lm_head.weight (tied to wte; save_pretrained drops it).
                           Tensor order as the safetensors library writes: by dtype (F32 before
                           BOOL), then by name.
   vocab.json, merges.txt  a tiny valid GPT-2 byte-level BPE: ids 0..255 are the 256 byte tokens in
                           GPT-2's bytes_to_unicode() order ("!" = 0, ..., "Ġ" = 220), 5 merges give
                           ids 256..260, "<|endoftext|>" = 261. Written as GPT2Tokenizer.save_vocabulary
                           does (vocab: sorted keys, indent 2, UTF-8; merges: "#version: 0.2" first).
   expect.safetensors      idx I32 [B,T] (random ids in [0,V)) and logits F64 [B,T,V], computed in
                           float64 from the F32 weights by hf_forward() below (no tokenizer
                           expectations: there is no reference encoder here).

   Weights: N(0, 0.2) (10x GPT-2's init, so logits are far from flat), biases N(0, 0.1),
   LayerNorm weights 1 + N(0, 0.1). Fixed seed; output is byte-identical on rerun.

   Self-checks (the script fails if one does not hold): float32 vs float64 forward (1e-4
   relative); a second float64 forward with attention written as explicit per-(row, head, query)
   loops (1e-10 relative); the --check-export loader on the written directory and on prefix-less /
   buffer-less / gptkit-style variants of it, plus rejections of broken variants.

2. --check-export CKPT_DIR. Reads a checkpoint written by gptkit (names without "transformer.",
   config.json with GPT2Config keys plus a "gptkit" section, maybe lm_head.weight, maybe no
   attn.bias buffers) the way transformers' GPT2LMHeadModel.from_pretrained (4.x) resolves it:
     * prefix: if no key starts with "transformer", the file is a base-model (GPT2Model) state dict
       and is loaded into model.transformer; a key outside the base model (lm_head.weight) then
       makes from_pretrained raise "The state dictionary of the model you are trying to load is
       corrupted", so it is an error here too. Otherwise keys must carry the prefix.
     * every key of GPT2LMHeadModel's state dict for the config must be present with its exact
       shape, except lm_head.weight when tie_word_embeddings (tied to wte); when it is present
       and tied it must equal wte;
     * no unexpected keys except the model's buffers attn.bias / attn.masked_bias (ignored by
       from_pretrained; here they must at least be a [1,1,P,P] causal mask and a scalar);
     * dtypes F32/F16/BF16/F64;
     * config.json: model_type "gpt2", the five size fields present and sane, every other
       GPT2Config field that affects the forward valid where given (defaults otherwise), and a
       "gptkit" section (if any) that a GPT2LMHeadModel can represent (bias/mlp/layernorm true,
       activation and tying consistent with the HF fields).
   Then it runs hf_forward in float64 and prints JSON {"mean_loss", "nll", "tokens",
   "scored_tokens", "forwards"} on stdout: nll[t-1] = -log p(ids[t] | ids[:t]), mean over
   positions 1..n-1. Windows follow gpt-generate --score: with n-1 <= n_positions it is one
   forward over ids[0:n-1]; longer inputs are scored in windows of n_positions with stride
   n_positions // 2 (each window one HF forward). Compare with
       gpt-generate --ckpt CKPT --score --prompt-tokens 1,2,3,... --json
   Any mismatch: messages on stderr, exit status 1.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import shutil
import sys
import tempfile

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import safetensors_io  # noqa: E402

REPO = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
GENERATOR = "scripts/reference/gen_hf_fixture.py"
PREFIX = "transformer."

SEED = 2024
B, T = 2, 24
DIMS = dict(vocab_size=262, n_positions=24, n_embd=48, n_head=4, n_layer=2)
MERGES = [("Ġ", "t"), ("h", "e"), ("i", "n"), ("Ġt", "he"), ("Ġ", "a")]
EOT = "<|endoftext|>"
TRANSFORMERS_VERSION = "4.46.0"

# GPT2Config.__init__ defaults (transformers 4.x), used where a config.json omits a field.
GPT2_DEFAULTS = dict(
    vocab_size=50257, n_positions=1024, n_embd=768, n_layer=12, n_head=12, n_inner=None,
    activation_function="gelu_new", resid_pdrop=0.1, embd_pdrop=0.1, attn_pdrop=0.1,
    layer_norm_epsilon=1e-5, initializer_range=0.02, summary_type="cls_index", summary_use_proj=True,
    summary_activation=None, summary_proj_to_labels=True, summary_first_dropout=0.1,
    scale_attn_weights=True, use_cache=True, bos_token_id=50256, eos_token_id=50256,
    scale_attn_by_inverse_layer_idx=False, reorder_and_upcast_attn=False, tie_word_embeddings=True,
)


class CheckError(Exception):
    pass


# ---------------------------------------------------------------- HF-faithful forward

def _act(name: str):
    """transformers.activations.ACT2FN, the entries a GPT-2 config can name."""
    if name in ("gelu_new", "gelu_pytorch_tanh"):  # NewGELUActivation / tanh-approximate GELU
        return lambda x: 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3.0))))
    if name == "gelu_fast":
        return lambda x: 0.5 * x * (1.0 + torch.tanh(x * 0.7978845608 * (1.0 + 0.044715 * x * x)))
    if name == "gelu":  # exact erf GELU
        return lambda x: 0.5 * x * (1.0 + torch.erf(x / math.sqrt(2.0)))
    if name == "quick_gelu":
        return lambda x: x * torch.sigmoid(1.702 * x)
    if name == "relu":
        return torch.relu
    if name == "tanh":
        return torch.tanh
    if name in ("silu", "swish"):
        return lambda x: x * torch.sigmoid(x)
    if name == "sigmoid":
        return torch.sigmoid
    raise CheckError(f"activation_function {name!r} is not one transformers' ACT2FN offers for GPT-2 here")


def _conv1d(x, w, b):
    # transformers.pytorch_utils.Conv1D: weight [nx, nf]; addmm(bias, x.view(-1, nx), weight).
    size_out = x.shape[:-1] + (w.shape[1],)
    return torch.addmm(b, x.reshape(-1, x.shape[-1]), w).view(size_out)


def hf_forward(sd: dict, cfg: dict, idx: torch.Tensor, masks=None) -> torch.Tensor:
    """GPT2LMHeadModel.forward (eval, no cache, no attention_mask) -> logits [B,T,V].

    sd: unprefixed names (wte.weight, h.0.attn.c_attn.weight, ..., lm_head.weight when untied),
    all of one float dtype; masks: per layer the bool attn.bias buffer [1,1,P,P] (None: the tril
    buffer GPT2Attention registers itself)."""
    Bn, Tn = idx.shape
    C, H, L, P = cfg["n_embd"], cfg["n_head"], cfg["n_layer"], cfg["n_positions"]
    D = C // H
    eps = cfg["layer_norm_epsilon"]
    act = _act(cfg["activation_function"])
    if masks is None:
        tril = torch.tril(torch.ones((P, P), dtype=torch.bool)).view(1, 1, P, P)
        masks = [tril] * L

    def ln(x, p):
        return torch.nn.functional.layer_norm(x, (C,), sd[p + ".weight"], sd[p + ".bias"], eps)

    def split_heads(t):  # [B,T,C] -> [B,H,T,D]
        return t.view(Bn, Tn, H, D).permute(0, 2, 1, 3)

    position_ids = torch.arange(0, Tn, dtype=torch.long).unsqueeze(0)
    h = sd["wte.weight"][idx] + sd["wpe.weight"][position_ids]  # embd dropout: identity in eval
    for i in range(L):
        p = f"h.{i}."
        residual = h
        x = ln(h, p + "ln_1")
        q, k, v = _conv1d(x, sd[p + "attn.c_attn.weight"], sd[p + "attn.c_attn.bias"]).split(C, dim=2)
        q, k, v = split_heads(q), split_heads(k), split_heads(v)
        w = torch.matmul(q, k.transpose(-1, -2))
        if cfg["scale_attn_weights"]:
            w = w / torch.full([], v.size(-1) ** 0.5, dtype=w.dtype)
        if cfg["scale_attn_by_inverse_layer_idx"]:
            w = w / float(i + 1)
        ql, kl = q.size(-2), k.size(-2)
        causal = masks[i][:, :, kl - ql:kl, :kl]
        w = torch.where(causal, w, torch.full([], torch.finfo(w.dtype).min, dtype=w.dtype))
        w = torch.nn.functional.softmax(w, dim=-1).type(v.dtype)
        a = torch.matmul(w, v)
        a = a.permute(0, 2, 1, 3).contiguous().view(Bn, Tn, C)
        a = _conv1d(a, sd[p + "attn.c_proj.weight"], sd[p + "attn.c_proj.bias"])
        h = a + residual
        residual = h
        x = ln(h, p + "ln_2")
        x = _conv1d(act(_conv1d(x, sd[p + "mlp.c_fc.weight"], sd[p + "mlp.c_fc.bias"])),
                    sd[p + "mlp.c_proj.weight"], sd[p + "mlp.c_proj.bias"])
        h = residual + x
    h = ln(h, "ln_f")
    lm = sd["wte.weight"] if cfg["tie_word_embeddings"] else sd["lm_head.weight"]
    return torch.nn.functional.linear(h, lm)


def loop_forward(sd: dict, cfg: dict, idx: torch.Tensor) -> torch.Tensor:
    """Second implementation for the self-check: explicit formulas, attention as loops over
    (row, head, query) with the causal range spelled out (no mask tensor)."""
    Bn, Tn = idx.shape
    C, H, L = cfg["n_embd"], cfg["n_head"], cfg["n_layer"]
    D = C // H
    eps = cfg["layer_norm_epsilon"]
    act = _act(cfg["activation_function"])

    def ln(x, p):
        mu = x.mean(-1, keepdim=True)
        var = ((x - mu) ** 2).mean(-1, keepdim=True)
        return (x - mu) / torch.sqrt(var + eps) * sd[p + ".weight"] + sd[p + ".bias"]

    def lin(x, p):
        return torch.einsum("btc,cd->btd", x, sd[p + ".weight"]) + sd[p + ".bias"]

    x = torch.stack([torch.stack([sd["wte.weight"][int(idx[b, t])] + sd["wpe.weight"][t] for t in range(Tn)])
                     for b in range(Bn)])
    for i in range(L):
        p = f"h.{i}."
        qkv = lin(ln(x, p + "ln_1"), p + "attn.c_attn")
        out = torch.zeros(Bn, Tn, C, dtype=x.dtype)
        scale = (1.0 / math.sqrt(D) if cfg["scale_attn_weights"] else 1.0)
        if cfg["scale_attn_by_inverse_layer_idx"]:
            scale /= i + 1
        for b in range(Bn):
            for hd in range(H):
                cq = slice(hd * D, (hd + 1) * D)
                ck = slice(C + hd * D, C + (hd + 1) * D)
                cv = slice(2 * C + hd * D, 2 * C + (hd + 1) * D)
                for t in range(Tn):
                    q = qkv[b, t, cq]
                    s = torch.stack([torch.dot(q, qkv[b, j, ck]) * scale for j in range(t + 1)])
                    e = torch.exp(s - s.max())
                    wts = e / e.sum()
                    out[b, t, cq] = sum(wts[j] * qkv[b, j, cv] for j in range(t + 1))
        x = x + lin(out, p + "attn.c_proj")
        x = x + lin(act(lin(ln(x, p + "ln_2"), p + "mlp.c_fc")), p + "mlp.c_proj")
    x = ln(x, "ln_f")
    lm = sd["wte.weight"] if cfg["tie_word_embeddings"] else sd["lm_head.weight"]
    return torch.einsum("btc,vc->btv", x, lm)


def nll_from_logits(logits_row: torch.Tensor, ids: "list[int]") -> "list[float]":
    """logits_row [T,V] for inputs ids[0:T]; returns -log p(ids[t+1] | ids[:t+1]) for t < T."""
    lp = torch.log_softmax(logits_row.double(), dim=-1)
    return [float(-lp[t, ids[t + 1]]) for t in range(logits_row.shape[0])]


def score(sd: dict, cfg: dict, ids: "list[int]") -> dict:
    """gpt-generate --score's windows, each one HF forward in float64."""
    n, bs = len(ids), cfg["n_positions"]
    if n < 2:
        raise CheckError(f"scoring needs at least two tokens; got {n}")
    stride = max(1, bs // 2)
    nll, scored, forwards, ws = [], 0, 0, 0
    while scored < n - 1:
        we = min(n - 1, ws + bs)
        logits = hf_forward(sd, cfg, torch.tensor([ids[ws:we]], dtype=torch.long))[0]
        forwards += 1
        lp = torch.log_softmax(logits, dim=-1)
        for t in range(scored + 1, we + 1):
            nll.append(float(-lp[t - 1 - ws, ids[t]]))
        scored = we
        ws += stride
    return {"tokens": n, "scored_tokens": len(nll), "nll": nll, "mean_loss": sum(nll) / len(nll),
            "forwards": forwards}


# ---------------------------------------------------------------- config / state-dict checks (HF rules)

def _is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def resolve_config(raw: dict) -> dict:
    """Validates a config.json the way a GPT2LMHeadModel would use it; returns the effective fields."""
    errs = []
    if not isinstance(raw, dict):
        raise CheckError("config.json is not a JSON object")
    if raw.get("model_type") != "gpt2":
        errs.append(f"model_type must be \"gpt2\" (AutoConfig dispatches on it); got {raw.get('model_type')!r}")
    arch = raw.get("architectures")
    if arch is not None and (not isinstance(arch, list) or "GPT2LMHeadModel" not in arch):
        errs.append(f"architectures should list \"GPT2LMHeadModel\"; got {arch!r}")
    cfg = dict(GPT2_DEFAULTS)
    for k in GPT2_DEFAULTS:
        if k in raw:
            cfg[k] = raw[k]
    for k in ("vocab_size", "n_positions", "n_embd", "n_layer", "n_head"):
        if k not in raw:
            errs.append(f"{k} is missing (GPT2Config would silently use {GPT2_DEFAULTS[k]})")
        elif not _is_int(raw[k]) or raw[k] <= 0:
            errs.append(f"{k} must be a positive integer; got {raw[k]!r}")
    if not errs and cfg["n_embd"] % cfg["n_head"] != 0:
        errs.append(f"n_embd {cfg['n_embd']} is not divisible by n_head {cfg['n_head']}")
    if "n_ctx" in raw and raw["n_ctx"] != cfg["n_positions"]:
        errs.append(f"n_ctx {raw['n_ctx']!r} differs from n_positions {cfg['n_positions']!r}")
    if cfg["n_inner"] is not None and (not _is_int(cfg["n_inner"]) or cfg["n_inner"] <= 0):
        errs.append(f"n_inner must be null or a positive integer; got {cfg['n_inner']!r}")
    if not isinstance(cfg["activation_function"], str):
        errs.append(f"activation_function must be a string; got {cfg['activation_function']!r}")
    else:
        try:
            _act(cfg["activation_function"])
        except CheckError as e:
            errs.append(str(e))
    eps = cfg["layer_norm_epsilon"]
    if isinstance(eps, bool) or not isinstance(eps, (int, float)) or not (0 < eps < 1):
        errs.append(f"layer_norm_epsilon must be a number in (0, 1); got {eps!r}")
    for k in ("resid_pdrop", "embd_pdrop", "attn_pdrop", "initializer_range"):
        v = cfg[k]
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not (0 <= v < 1):
            errs.append(f"{k} must be a number in [0, 1); got {v!r}")
    for k in ("scale_attn_weights", "scale_attn_by_inverse_layer_idx", "reorder_and_upcast_attn", "use_cache",
              "tie_word_embeddings"):
        if not isinstance(cfg[k], bool):
            errs.append(f"{k} must be a boolean; got {cfg[k]!r}")
    vocab = cfg["vocab_size"] if _is_int(cfg["vocab_size"]) else 0
    for k in ("bos_token_id", "eos_token_id"):
        v = cfg[k]
        if k in raw and v is not None and (not _is_int(v) or not 0 <= v < vocab):
            errs.append(f"{k} must be null or an id in [0, vocab_size); got {v!r}")
    if "torch_dtype" in raw and raw["torch_dtype"] not in (None, "float32", "float16", "bfloat16", "float64"):
        errs.append(f"torch_dtype {raw['torch_dtype']!r} is not a torch float dtype name")
    g = raw.get("gptkit")
    if g is not None:
        if not isinstance(g, dict):
            errs.append("gptkit must be an object")
        else:
            for k in ("bias", "mlp", "layernorm"):
                if k in g and g[k] is not True:
                    errs.append(f"gptkit.{k} is {g[k]!r}: a GPT2LMHeadModel always has it, so transformers "
                                "cannot load this model")
            if "tie_embeddings" in g and g["tie_embeddings"] != cfg["tie_word_embeddings"]:
                errs.append(f"gptkit.tie_embeddings {g['tie_embeddings']!r} disagrees with tie_word_embeddings "
                            f"{cfg['tie_word_embeddings']!r} (what transformers reads)")
            ga = g.get("activation")
            hf_of = {"gelu_tanh": ("gelu_new", "gelu_pytorch_tanh", "gelu_fast"), "gelu": ("gelu",),
                     "tanh": ("tanh",), "relu": ("relu",)}
            if ga is not None and cfg["activation_function"] not in hf_of.get(ga, (ga,)):
                errs.append(f"gptkit.activation {ga!r} disagrees with activation_function "
                            f"{cfg['activation_function']!r} (what transformers reads)")
    if errs:
        raise CheckError("config.json: " + "\n  config.json: ".join(errs))
    return cfg


def hf_state_dict_shapes(cfg: dict) -> "dict[str, list[int]]":
    """Keys and shapes of GPT2LMHeadModel(cfg).state_dict() (transformers >= 4.3x: the attn.bias /
    attn.masked_bias buffers are non-persistent and not in it)."""
    V, P, C, L = cfg["vocab_size"], cfg["n_positions"], cfg["n_embd"], cfg["n_layer"]
    I = cfg["n_inner"] if cfg["n_inner"] is not None else 4 * C
    s = {PREFIX + "wte.weight": [V, C], PREFIX + "wpe.weight": [P, C]}
    for i in range(L):
        p = f"{PREFIX}h.{i}."
        s.update({p + "ln_1.weight": [C], p + "ln_1.bias": [C],
                  p + "attn.c_attn.weight": [C, 3 * C], p + "attn.c_attn.bias": [3 * C],
                  p + "attn.c_proj.weight": [C, C], p + "attn.c_proj.bias": [C],
                  p + "ln_2.weight": [C], p + "ln_2.bias": [C],
                  p + "mlp.c_fc.weight": [C, I], p + "mlp.c_fc.bias": [I],
                  p + "mlp.c_proj.weight": [I, C], p + "mlp.c_proj.bias": [C]})
    s.update({PREFIX + "ln_f.weight": [C], PREFIX + "ln_f.bias": [C], "lm_head.weight": [V, C]})
    return s


def hf_buffer_names(cfg: dict) -> "list[str]":
    return [f"{PREFIX}h.{i}.attn.{b}" for i in range(cfg["n_layer"]) for b in ("bias", "masked_bias")]


def resolve_state_dict(tensors: dict, cfg: dict) -> "tuple[dict, list[str]]":
    """from_pretrained's key resolution for GPT2LMHeadModel. Returns (unprefixed float64 state dict
    for hf_forward, notes); raises CheckError listing every problem."""
    errs, notes = [], []
    loaded = list(tensors)
    has_prefix = any(k.startswith(PREFIX.rstrip(".")) for k in loaded)
    expected = hf_state_dict_shapes(cfg)
    buffers = hf_buffer_names(cfg)
    if has_prefix:
        notes.append("names carry the 'transformer.' prefix (GPT2LMHeadModel state dict)")
        exp = dict(expected)
        bufs = set(buffers)
        to_canon = {k: (k[len(PREFIX):] if k.startswith(PREFIX) else k) for k in exp}
    else:
        notes.append("names have no 'transformer.' prefix: loaded as a GPT2Model state dict into model.transformer")
        exp = {(k[len(PREFIX):] if k.startswith(PREFIX) else k): v for k, v in expected.items()}
        bufs = {k[len(PREFIX):] for k in buffers}
        to_canon = {k: k for k in exp}
        if "lm_head.weight" in loaded:
            errs.append("lm_head.weight is present but no name has the 'transformer.' prefix: transformers 4.x "
                        "loads such a file into model.transformer and raises ValueError('The state dictionary of "
                        "the model you are trying to load is corrupted'). Write the untied head with prefixed "
                        "names (transformer.wte.weight, ..., lm_head.weight)")
    lm_key = "lm_head.weight"
    tied = cfg["tie_word_embeddings"]
    missing = [k for k in exp if k not in tensors]
    if tied and lm_key in missing:
        missing.remove(lm_key)  # tied to wte: filled by it
    if missing:
        errs.append(f"missing tensors ({len(missing)}): {', '.join(missing)}")
    unexpected = [k for k in loaded if k not in exp and k not in bufs]
    if unexpected:
        errs.append(f"unexpected tensors ({len(unexpected)}) that transformers would drop: {', '.join(unexpected)}")
    sd = {}
    for k in loaded:
        t = tensors[k]
        if k in exp:
            if list(t.shape) != exp[k]:
                errs.append(f"{k}: shape {list(t.shape)} but GPT2LMHeadModel with this config.json needs {exp[k]}")
                continue
            if t.dtype not in (torch.float32, torch.float16, torch.bfloat16, torch.float64):
                errs.append(f"{k}: dtype {t.dtype} is not a float dtype")
                continue
            sd[to_canon[k]] = t.to(torch.float64)
        elif k in bufs:
            P = cfg["n_positions"]
            if k.endswith(".attn.bias"):
                tril = torch.tril(torch.ones((P, P), dtype=torch.bool)).view(1, 1, P, P)
                if list(t.shape) != [1, 1, P, P]:
                    errs.append(f"{k}: causal-mask buffer has shape {list(t.shape)}, expected [1, 1, {P}, {P}]")
                elif not torch.equal(t != 0, tril):
                    errs.append(f"{k}: causal-mask buffer is not the lower-triangular mask")
            elif t.numel() != 1:
                errs.append(f"{k}: masked_bias buffer should be a scalar; shape {list(t.shape)}")
    if tied and lm_key in sd and "wte.weight" in sd and not torch.equal(sd[lm_key], sd["wte.weight"]):
        errs.append("lm_head.weight differs from wte.weight but tie_word_embeddings is true: transformers "
                    "would load both into the one shared tensor (whichever comes last wins)")
    if tied:
        sd.pop(lm_key, None)
    present_bufs = sum(1 for k in loaded if k in bufs)
    notes.append(f"{present_bufs} attn buffers present (ignored by from_pretrained)")
    if errs:
        raise CheckError("\n  ".join(errs))
    return sd, notes


def load_checkpoint(ckpt: str) -> "tuple[dict, dict, list[str]]":
    cpath, wpath = os.path.join(ckpt, "config.json"), os.path.join(ckpt, "model.safetensors")
    for p in (cpath, wpath):
        if not os.path.isfile(p):
            raise CheckError(f"{p} is missing")
    try:
        with open(cpath, encoding="utf-8") as f:
            raw = json.load(f)
    except ValueError as e:
        raise CheckError(f"{cpath} is not valid JSON: {e}")
    cfg = resolve_config(raw)
    try:
        tensors, meta = safetensors_io.load(wpath)
    except Exception as e:  # noqa: BLE001
        raise CheckError(f"{wpath}: cannot read: {e}")
    notes = []
    if not meta:
        notes.append("model.safetensors has no __metadata__ (transformers accepts that; save_pretrained writes "
                     "{\"format\": \"pt\"})")
    elif meta.get("format") not in ("pt", "tf", "flax", "mlx"):
        raise CheckError(f"{wpath}: __metadata__ format is {meta.get('format')!r}; transformers refuses files "
                         "whose format is not pt/tf/flax/mlx (save_pretrained writes \"pt\")")
    sd, n2 = resolve_state_dict(tensors, cfg)
    return cfg, sd, notes + n2


def check_export(ckpt: str, ids: "list[int]") -> dict:
    cfg, sd, notes = load_checkpoint(ckpt)
    V = cfg["vocab_size"]
    bad = [i for i in ids if not (0 <= i < V)]
    if bad:
        raise CheckError(f"token ids outside [0, {V}): {bad[:10]}")
    r = score(sd, cfg, ids)
    r["notes"] = notes
    return r


# ---------------------------------------------------------------- fixture generation

def bytes_to_unicode() -> "list[tuple[int, str]]":
    """GPT-2's map, as (byte, character) in the order OpenAI's encoder.json numbers them."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + \
        list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return [(b, chr(c)) for b, c in zip(bs, cs)]


def make_vocab() -> "tuple[dict[str, int], list[tuple[str, str]]]":
    vocab = {ch: i for i, (_, ch) in enumerate(bytes_to_unicode())}
    assert len(vocab) == 256 and vocab["!"] == 0 and vocab["Ġ"] == 220 and vocab["Ā"] == 188
    for a, b in MERGES:
        assert a in vocab and b in vocab, (a, b)
        assert a + b not in vocab
        vocab[a + b] = len(vocab)
    vocab[EOT] = len(vocab)
    assert len(vocab) == DIMS["vocab_size"] and sorted(vocab.values()) == list(range(len(vocab)))
    return vocab, MERGES


def hf_config() -> dict:
    V = DIMS["vocab_size"]
    c = dict(GPT2_DEFAULTS)
    del c["tie_word_embeddings"]  # equal to PretrainedConfig's default: to_json_string omits it
    c.update(DIMS)
    c.update(architectures=["GPT2LMHeadModel"], model_type="gpt2", n_ctx=DIMS["n_positions"],
             bos_token_id=V - 1, eos_token_id=V - 1, torch_dtype="float32",
             transformers_version=TRANSFORMERS_VERSION)
    return c


def make_weights(cfg: dict, gen: torch.Generator) -> dict:
    """Unprefixed F32 parameters in GPT2LMHeadModel's named_parameters order."""
    V, P, C, L = cfg["vocab_size"], cfg["n_positions"], cfg["n_embd"], cfg["n_layer"]
    I = 4 * C

    def w(*shape):
        return torch.randn(*shape, generator=gen) * 0.2

    def b(n):
        return torch.randn(n, generator=gen) * 0.1

    def lnw(n):
        return 1.0 + torch.randn(n, generator=gen) * 0.1

    sd = {"wte.weight": w(V, C), "wpe.weight": w(P, C)}
    for i in range(L):
        p = f"h.{i}."
        sd[p + "ln_1.weight"], sd[p + "ln_1.bias"] = lnw(C), b(C)
        sd[p + "attn.c_attn.weight"], sd[p + "attn.c_attn.bias"] = w(C, 3 * C), b(3 * C)
        sd[p + "attn.c_proj.weight"], sd[p + "attn.c_proj.bias"] = w(C, C), b(C)
        sd[p + "ln_2.weight"], sd[p + "ln_2.bias"] = lnw(C), b(C)
        sd[p + "mlp.c_fc.weight"], sd[p + "mlp.c_fc.bias"] = w(C, I), b(I)
        sd[p + "mlp.c_proj.weight"], sd[p + "mlp.c_proj.bias"] = w(I, C), b(C)
    sd["ln_f.weight"], sd["ln_f.bias"] = lnw(C), b(C)
    for t in sd.values():
        assert t.dtype == torch.float32
    return sd


def hf_file_order(tensors: dict) -> dict:
    """The safetensors library's write order: larger dtype ranks first (F32 before BOOL), then name."""
    rank = {torch.bool: 0, torch.float32: 11}
    return dict(sorted(tensors.items(), key=lambda kv: (-rank[kv[1].dtype], kv[0])))


def check_close(what: str, got, want, rtol: float):
    got, want = torch.as_tensor(got, dtype=torch.float64), torch.as_tensor(want, dtype=torch.float64)
    err = (got - want).abs().max().item()
    lim = rtol * want.abs().max().item()
    if not err <= lim:
        raise AssertionError(f"self-check failed: {what}: max abs err {err:.3e} > {lim:.3e}")
    return err


def _write_json(path: str, obj, **kw):
    with open(path, "w", encoding="utf-8", newline="\n") as f:
        f.write(json.dumps(obj, **kw) + "\n")


def self_test_export(out: str, cfg: dict, weights32: dict, ids: "list[int]", logits64_row: torch.Tensor):
    """--check-export on the fixture itself and on gptkit-style variants; broken variants must fail."""
    want = nll_from_logits(logits64_row[:-1], ids)
    r = check_export(out, ids)
    check_close("check-export on the fixture", r["nll"], want, 1e-12)
    assert r["forwards"] == 1 and r["scored_tokens"] == len(ids) - 1
    # longer than n_positions: windows; positions 1..P-1 come from the first window = the same forward
    long_ids = ids + ids[:7]
    rl = check_export(out, long_ids)
    assert rl["forwards"] == 2 and rl["scored_tokens"] == len(long_ids) - 1
    check_close("windowed score prefix", rl["nll"][:len(ids) - 1], want, 1e-12)

    gk_cfg = {"architectures": ["GPT2LMHeadModel"], "model_type": "gpt2", "vocab_size": cfg["vocab_size"],
              "n_positions": cfg["n_positions"], "n_ctx": cfg["n_positions"], "n_layer": cfg["n_layer"],
              "n_head": cfg["n_head"], "n_embd": cfg["n_embd"], "n_inner": None,
              "activation_function": "gelu_new", "layer_norm_epsilon": 1e-5, "resid_pdrop": 0.0,
              "embd_pdrop": 0.0, "attn_pdrop": 0.0, "tie_word_embeddings": True, "initializer_range": 0.02,
              "bos_token_id": cfg["vocab_size"] - 1, "eos_token_id": cfg["vocab_size"] - 1,
              "gptkit": {"bias": True, "mlp": True, "layernorm": True, "tie_embeddings": True,
                         "activation": "gelu_tanh"}}
    lm = torch.randn(cfg["vocab_size"], cfg["n_embd"], generator=torch.Generator().manual_seed(7)) * 0.2

    def variant(tensors: dict, conf: dict):
        d = tempfile.mkdtemp(prefix="hf_gpt2_check_")
        try:
            safetensors_io.save(tensors, os.path.join(d, "model.safetensors"), {"format": "pt", "producer": "gptkit"})
            _write_json(os.path.join(d, "config.json"), conf, indent=2)
            return check_export(d, ids)
        finally:
            shutil.rmtree(d)

    def must_fail(what: str, tensors: dict, conf: dict, needle: str):
        try:
            variant(tensors, conf)
        except CheckError as e:
            assert needle in str(e), f"{what}: message lacks {needle!r}: {e}"
            return
        raise AssertionError(f"self-check failed: --check-export accepted {what}")

    # gptkit layout: unprefixed, no buffers, tied
    r = variant(dict(weights32), gk_cfg)
    check_close("check-export, gptkit layout", r["nll"], want, 1e-12)
    # untied, prefixed names + lm_head.weight: loads; equals a tied model when lm_head == wte
    untied = dict(gk_cfg, tie_word_embeddings=False, gptkit=dict(gk_cfg["gptkit"], tie_embeddings=False))
    pre = {PREFIX + k: v for k, v in weights32.items()}
    r = variant(dict(pre, **{"lm_head.weight": weights32["wte.weight"]}), untied)
    check_close("check-export, untied prefixed (lm_head = wte)", r["nll"], want, 1e-12)
    r2 = variant(dict(pre, **{"lm_head.weight": lm}), untied)
    assert abs(r2["mean_loss"] - r["mean_loss"]) > 1e-3  # the separate head is really used
    # rejections
    must_fail("untied unprefixed with lm_head", dict(weights32, **{"lm_head.weight": lm}), untied, "corrupted")
    must_fail("untied without lm_head", dict(pre), untied, "missing tensors")
    short = {k: v for k, v in weights32.items() if k != "h.1.mlp.c_fc.bias"}
    must_fail("a missing bias", short, gk_cfg, "h.1.mlp.c_fc.bias")
    must_fail("an extra tensor", dict(weights32, **{"h.0.attn.extra": lm[:2]}), gk_cfg, "unexpected")
    must_fail("a wrong shape", dict(weights32, **{"wpe.weight": weights32["wpe.weight"][:-1]}), gk_cfg, "shape")
    must_fail("gptkit.bias false", dict(weights32), dict(gk_cfg, gptkit=dict(gk_cfg["gptkit"], bias=False)),
              "gptkit.bias")
    must_fail("no n_embd", dict(weights32), {k: v for k, v in gk_cfg.items() if k != "n_embd"}, "n_embd")
    must_fail("tied lm_head != wte", dict(pre, **{"lm_head.weight": lm}), gk_cfg, "differs")


def generate(out: str):
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    cfg_json = hf_config()
    cfg = resolve_config(cfg_json)  # also validates what we write
    V, P, L = cfg["vocab_size"], cfg["n_positions"], cfg["n_layer"]
    assert T <= P

    gen = torch.Generator().manual_seed(SEED)
    weights = make_weights(cfg, gen)
    idx = torch.randint(0, V, (B, T), generator=gen)
    masks = [torch.tril(torch.ones((P, P), dtype=torch.bool)).view(1, 1, P, P) for _ in range(L)]
    buffers = {}
    for i in range(L):
        buffers[f"h.{i}.attn.bias"] = masks[i]
        buffers[f"h.{i}.attn.masked_bias"] = torch.tensor(-1e4, dtype=torch.float32)

    sd64 = {k: v.double() for k, v in weights.items()}
    with torch.no_grad():
        logits = hf_forward(sd64, cfg, idx, masks)
        logits32 = hf_forward(weights, cfg, idx, masks)
        logits_loop = loop_forward(sd64, cfg, idx)
    assert logits.dtype == torch.float64 and list(logits.shape) == [B, T, V]
    e32 = check_close("float32 vs float64 forward", logits32, logits, 1e-4)
    eloop = check_close("loop attention vs HF forward (float64)", logits_loop, logits, 1e-10)
    spread = logits.std(-1).mean().item()
    assert spread > 0.5, f"logits too flat (mean std over vocab {spread})"

    os.makedirs(out, exist_ok=True)
    _write_json(os.path.join(out, "config.json"), cfg_json, indent=2, sort_keys=True)
    _write_json(os.path.join(out, "generation_config.json"),
                {"_from_model_config": True, "bos_token_id": cfg["bos_token_id"],
                 "eos_token_id": cfg["eos_token_id"], "transformers_version": TRANSFORMERS_VERSION},
                indent=2, sort_keys=True)
    file_tensors = {PREFIX + k: v for k, v in weights.items()}
    file_tensors.update({PREFIX + k: v for k, v in buffers.items()})
    file_tensors = hf_file_order(file_tensors)
    safetensors_io.save(file_tensors, os.path.join(out, "model.safetensors"), {"format": "pt"})

    vocab, merges = make_vocab()
    _write_json(os.path.join(out, "vocab.json"), vocab, indent=2, sort_keys=True, ensure_ascii=False)
    with open(os.path.join(out, "merges.txt"), "w", encoding="utf-8", newline="\n") as f:
        f.write("#version: 0.2\n")
        for a, b in merges:
            f.write(f"{a} {b}\n")

    meta = {"generator": GENERATOR, "seed": str(SEED), "torch_version": torch.__version__,
            "note": "logits in float64 from the F32 weights of model.safetensors"}
    expect = {"idx": idx.to(torch.int32), "logits": logits}
    safetensors_io.save(expect, os.path.join(out, "expect.safetensors"), meta)

    # read back
    back, bmeta = safetensors_io.load(os.path.join(out, "model.safetensors"))
    assert bmeta == {"format": "pt"} and list(back) == list(file_tensors)
    for k, t in file_tensors.items():
        assert back[k].dtype == t.dtype and torch.equal(back[k], t), k
    back, _ = safetensors_io.load(os.path.join(out, "expect.safetensors"))
    for k, t in expect.items():
        assert torch.equal(back[k], t), k
    with open(os.path.join(out, "vocab.json"), encoding="utf-8") as f:
        assert json.load(f) == vocab

    self_test_export(out, cfg, weights, [int(i) for i in idx[0]], logits[0])

    files = sorted(os.listdir(out))
    size = sum(os.path.getsize(os.path.join(out, f)) for f in files)
    print(f"hf_gpt2: V={V} P={P} C={cfg['n_embd']} H={cfg['n_head']} L={L} B={B} T={T} "
          f"params={sum(t.numel() for t in weights.values())} fp32_err={e32:.1e} loop_err={eloop:.1e} "
          f"logit_std={spread:.3f} size={size}B", file=sys.stderr)
    for f in files:
        with open(os.path.join(out, f), "rb") as fh:
            print(f"  {hashlib.sha256(fh.read()).hexdigest()}  {f}", file=sys.stderr)


# ---------------------------------------------------------------- CLI

def parse_ids(text: str, what: str) -> "list[int]":
    items = [s for s in text.replace(",", " ").split() if s]
    try:
        ids = [int(s) for s in items]
    except ValueError:
        raise CheckError(f"{what}: token ids must be integers separated by commas or whitespace")
    if any(i < 0 for i in ids):
        raise CheckError(f"{what}: token ids must be non-negative")
    return ids


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=os.path.join(REPO, "tests", "fixtures", "hf_gpt2"),
                    help="fixture directory to write (default tests/fixtures/hf_gpt2)")
    ap.add_argument("--check-export", metavar="CKPT_DIR",
                    help="check a gptkit checkpoint against transformers' GPT2LMHeadModel rules and score ids")
    ap.add_argument("--text-ids", metavar="1,2,3", help="token ids to score (with --check-export)")
    ap.add_argument("--ids-file", metavar="FILE", help="file of token ids (commas/whitespace; with --check-export)")
    args = ap.parse_args()

    if args.check_export is None:
        if args.text_ids or args.ids_file:
            ap.error("--text-ids / --ids-file go with --check-export")
        generate(args.out)
        return
    torch.set_num_threads(1)
    try:
        if (args.text_ids is None) == (args.ids_file is None):
            raise CheckError("give exactly one of --text-ids and --ids-file")
        if args.ids_file is not None:
            with open(args.ids_file, encoding="utf-8") as f:
                ids = parse_ids(f.read(), args.ids_file)
        else:
            ids = parse_ids(args.text_ids, "--text-ids")
        with torch.no_grad():
            r = check_export(args.check_export, ids)
    except (CheckError, OSError) as e:
        print(f"check-export FAILED for {args.check_export}:\n  {e}", file=sys.stderr)
        sys.exit(1)
    for n in r.pop("notes"):
        print(f"check-export: {n}", file=sys.stderr)
    print(f"check-export: OK ({r['scored_tokens']} tokens scored, mean_loss {r['mean_loss']:.6f})", file=sys.stderr)
    print(json.dumps({"mean_loss": r["mean_loss"], "nll": r["nll"], "tokens": r["tokens"],
                      "scored_tokens": r["scored_tokens"], "forwards": r["forwards"]}))


if __name__ == "__main__":
    main()
