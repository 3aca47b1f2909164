#!/usr/bin/python3
"""PyTorch CPU peer of the benchmark in bench/run.ts.

The same GPT as src/model/gpt.ts (its header: GPT-2 style, token + learned position
embeddings, pre-LN blocks with LN eps 1e-5, causal multi-head attention with biased qkv and
output Linears, MLP 4x with GELU tanh, final LN, head tied to the token embedding), the same
batch shapes, AdamW. Measures the SFT step (forward + backward + grad clipping + AdamW, as
src/train/sft.ts), and batched sampling
with a KV cache and with full recompute.

Section positions (model.positions "sections", src/model/sections.ts) are modelled as the
learned position table plus a learned section-id embedding (maxSection + 1 rows), the section id
being the running count of `mark` tokens (torch ops, capped at maxSection) and the position the
absolute one: the same lookups and parameters as ours, not the exact restart rule (the
benchmark's tokens are random, so the rule would not change the work).

Input: one JSON object on stdin (or the path of a JSON file as argv[1]):
  {"model": {vocabSize, blockSize, nEmbd, nLayer, nHead, dropout, seed,
             positions?: "sections", sections?: {mark, maxSection}},
   "threads": 2,
   "train": {"batch": 16, "seqLen": 256, "seqLens"?: [per-step lengths, cycled], "steps": 20, "warmup": 2, "lr": 3e-4, "weightDecay": 0.1,
             "gradClip": 1.0, "beta1": 0.9, "beta2": 0.95, "eps": 1e-8},
   "sample": {"batch": 64, "promptLen": 16, "newTokens": 128, "warmup": 1, "full": true}}
Output: one JSON object on stdout, {"ok": true, ...} or {"ok": false, "error": "..."}.
Progress lines go to stderr.
"""
import json
import math
import resource
import sys
import time


def log(msg):
    print(f"[torch_peer] {msg}", file=sys.stderr, flush=True)


def peak_rss_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: kB


def main():
    cfg = json.load(open(sys.argv[1]) if len(sys.argv) > 1 else sys.stdin)
    try:
        import torch
        import torch.nn as nn
        import torch.nn.functional as F
    except Exception as e:  # noqa: BLE001 -- report any import failure, do not crash
        print(json.dumps({"ok": False, "error": f"import torch failed: {e!r}", "python": sys.version}))
        return

    threads = int(cfg.get("threads", 1))
    torch.set_num_threads(threads)
    m = cfg["model"]
    torch.manual_seed(int(m.get("seed", 0)))

    class CausalSelfAttention(nn.Module):
        def __init__(self):
            super().__init__()
            self.n_head, self.n_embd = m["nHead"], m["nEmbd"]
            self.qkv = nn.Linear(self.n_embd, 3 * self.n_embd, bias=True)
            self.proj = nn.Linear(self.n_embd, self.n_embd, bias=True)
            self.drop = nn.Dropout(m["dropout"])

        def forward(self, x, cache=None):
            # cache: None (full causal attention) or a dict {"k", "v"} of [B, H, Tpast, hd]
            B, T, C = x.shape
            hd = C // self.n_head
            q, k, v = self.qkv(x).split(C, dim=2)
            q, k, v = (t.view(B, T, self.n_head, hd).transpose(1, 2) for t in (q, k, v))
            if cache is not None:
                if cache.get("k") is not None:
                    k = torch.cat([cache["k"], k], dim=2)
                    v = torch.cat([cache["v"], v], dim=2)
                cache["k"], cache["v"] = k, v
            Tk = k.shape[2]
            att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(hd))
            if T > 1:  # a single query row at the end of the sequence sees everything
                mask = torch.ones(T, Tk, dtype=torch.bool).tril(diagonal=Tk - T)
                att = att.masked_fill(~mask, float("-inf"))
            att = self.drop(F.softmax(att, dim=-1))
            y = (att @ v).transpose(1, 2).contiguous().view(B, T, C)
            return self.drop(self.proj(y))

    class MLP(nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(m["nEmbd"], 4 * m["nEmbd"], bias=True)
            self.proj = nn.Linear(4 * m["nEmbd"], m["nEmbd"], bias=True)
            self.drop = nn.Dropout(m["dropout"])

        def forward(self, x):
            return self.drop(self.proj(F.gelu(self.fc(x), approximate="tanh")))

    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.ln1 = nn.LayerNorm(m["nEmbd"], eps=1e-5)
            self.attn = CausalSelfAttention()
            self.ln2 = nn.LayerNorm(m["nEmbd"], eps=1e-5)
            self.mlp = MLP()

        def forward(self, x, cache=None):
            x = x + self.attn(self.ln1(x), cache)
            return x + self.mlp(self.ln2(x))

    class GPT(nn.Module):
        def __init__(self):
            super().__init__()
            self.wte = nn.Embedding(m["vocabSize"], m["nEmbd"])
            self.wpe = nn.Embedding(m["blockSize"], m["nEmbd"])
            self.sections = m.get("sections") if m.get("positions") == "sections" else None
            if self.sections:
                self.wse = nn.Embedding(int(self.sections["maxSection"]) + 1, m["nEmbd"])
            self.drop = nn.Dropout(m["dropout"])
            self.blocks = nn.ModuleList([Block() for _ in range(m["nLayer"])])
            self.ln_f = nn.LayerNorm(m["nEmbd"], eps=1e-5)
            self.apply(self._init)
            for name, p in self.named_parameters():
                if name.endswith("attn.proj.weight") or name.endswith("mlp.proj.weight"):
                    nn.init.normal_(p, 0.0, 0.02 / math.sqrt(2 * m["nLayer"]))

        @staticmethod
        def _init(mod):
            if isinstance(mod, (nn.Linear, nn.Embedding)):
                nn.init.normal_(mod.weight, 0.0, 0.02)
            if isinstance(mod, nn.Linear) and mod.bias is not None:
                nn.init.zeros_(mod.bias)

        def forward(self, idx, caches=None, pos0=0, marks0=None):
            # marks0 [B]: section marks seen before idx (cached sampling), for the section ids
            B, T = idx.shape
            pos = torch.arange(pos0, pos0 + T, dtype=torch.long)
            x = self.wte(idx) + self.wpe(pos)
            if self.sections:
                sec = (idx == int(self.sections["mark"])).long().cumsum(1)
                if marks0 is not None:
                    sec = sec + marks0[:, None]
                x = x + self.wse(sec.clamp(max=int(self.sections["maxSection"])))
            x = self.drop(x)
            for i, block in enumerate(self.blocks):
                x = block(x, None if caches is None else caches[i])
            return F.linear(self.ln_f(x), self.wte.weight)  # tied head, no bias

    model = GPT()
    n_params = sum(p.numel() for p in model.parameters())
    out = {
        "ok": True,
        "torch": torch.__version__,
        "python": sys.version.split()[0],
        "threads": torch.get_num_threads(),
        "interopThreads": torch.get_num_interop_threads(),
        "blas": blas_info(torch),
        "params": n_params,
        "paramTensors": len(list(model.parameters())),
    }
    out["matmulGflops"] = matmul_gflops(torch)
    log(f"torch {torch.__version__}, {out['threads']} threads, {n_params} params, "
        f"matmul {out['matmulGflops']:.0f} GFLOP/s")

    tr = cfg.get("train")
    if tr:
        out["train"] = bench_train(torch, F, model, m, tr)
        log(f"train: {out['train']['tokensPerS']:.0f} tokens/s")
    out["peakRssMBAfterTrain"] = peak_rss_mb()

    sp = cfg.get("sample")
    if sp:
        out["sample"] = bench_sample(torch, model, m, sp)
    out["peakRssMB"] = peak_rss_mb()
    print(json.dumps(out))


def blas_info(torch):
    show = torch.__config__.show()
    info = {"buildBlas": None, "linkedBlas": []}
    import re
    m = re.search(r"\bBLAS_INFO=([^,\s]+)", show)
    info["buildBlas"] = m.group(1) if m else None
    # Debian builds against the generic libblas.so.3, which update-alternatives points at a
    # BLAS; the loaded libraries say which one is in use.
    try:
        with open("/proc/self/maps") as f:
            libs = {line.split()[-1] for line in f if ".so" in line}
        info["linkedBlas"] = sorted(l for l in libs if any(s in l.lower() for s in ("blas", "lapack", "mkl")))
    except OSError:
        pass
    return info


def matmul_gflops(torch, n=1024, reps=10):
    a, b = torch.randn(n, n), torch.randn(n, n)
    for _ in range(2):
        a @ b
    t0 = time.perf_counter()
    for _ in range(reps):
        a @ b
    return 2 * n ** 3 * reps / (time.perf_counter() - t0) / 1e9


def bench_train(torch, F, model, m, tr):
    B = int(tr["batch"])
    lens = [int(t) for t in tr.get("seqLens") or [tr["seqLen"]]]
    steps, warmup = int(tr["steps"]), int(tr.get("warmup", 2))
    # decay matrices only, as usual for GPT-2 (embeddings included; LN and biases excluded)
    decay = [p for p in model.parameters() if p.dim() >= 2]
    no_decay = [p for p in model.parameters() if p.dim() < 2]
    opt = torch.optim.AdamW(
        [{"params": decay, "weight_decay": float(tr.get("weightDecay", 0.1))},
         {"params": no_decay, "weight_decay": 0.0}],
        lr=float(tr.get("lr", 3e-4)), betas=(float(tr.get("beta1", 0.9)), float(tr.get("beta2", 0.95))),
        eps=float(tr.get("eps", 1e-8)))
    clip = float(tr.get("gradClip", 1.0))
    g = torch.Generator().manual_seed(1)
    model.train()
    # one fixed batch per length: data is not the point, the shapes are
    batches = {T: torch.randint(3, m["vocabSize"], (B, T), generator=g) for T in sorted(set(lens))}

    def step(data):
        logits = model(data)
        # next-token cross-entropy over t = 0..T-2, like tokenLogProbs
        loss = F.cross_entropy(logits[:, :-1].reshape(-1, logits.shape[-1]), data[:, 1:].reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        norm = torch.nn.utils.clip_grad_norm_(model.parameters(), clip) if clip > 0 else torch.zeros(())
        opt.step()
        return torch.stack([loss.detach(), norm]).tolist()[0]  # one read-back, like ours

    for i in range(warmup):
        step(batches[lens[i % len(lens)]])
    times, losses, tokens = [], [], 0
    for i in range(steps):
        T = lens[i % len(lens)]
        t0 = time.perf_counter()
        losses.append(step(batches[T]))
        times.append(time.perf_counter() - t0)
        tokens += B * T
    total = sum(times)
    return {"batch": B, "seqLen": max(lens), "seqLens": lens, "steps": steps, "warmup": warmup,
            "msPerStep": 1000 * total / steps, "msPerStepMin": 1000 * min(times),
            "tokensPerS": tokens / total, "lossFirst": losses[0], "lossLast": losses[-1]}


def torch_no_grad_lazy(fn):
    def wrapped(torch, *args):
        with torch.no_grad():
            return fn(torch, *args)
    return wrapped


def bench_sample(torch, model, m, sp):
    B, P, N = int(sp["batch"]), int(sp["promptLen"]), int(sp["newTokens"])
    model.eval()
    g = torch.Generator().manual_seed(2)
    prompts = torch.randint(3, m["vocabSize"], (B, P), generator=g)

    @torch.no_grad()
    def generate(use_cache, n_new):
        gen = torch.Generator().manual_seed(3)
        seq = prompts
        caches = [dict() for _ in range(m["nLayer"])] if use_cache else None
        nxt_in, pos0 = seq, 0
        marks = torch.zeros(seq.shape[0], dtype=torch.long)
        mark = int(model.sections["mark"]) if model.sections else -1
        for _ in range(n_new):
            if use_cache:
                logits = model(nxt_in, caches, pos0, marks)
                marks = marks + (nxt_in == mark).long().sum(1)
                pos0 += nxt_in.shape[1]
            else:
                logits = model(seq[:, -m["blockSize"]:])
            probs = torch.softmax(logits[:, -1, :], dim=-1)
            nxt = torch.multinomial(probs, 1, generator=gen)
            seq = torch.cat([seq, nxt], dim=1)
            nxt_in = nxt
        return seq[:, P:]

    out = {"batch": B, "promptLen": P, "newTokens": N}
    modes = [("cached", True)] + ([("full", False)] if sp.get("full", True) else [])
    for name, use_cache in modes:
        for _ in range(int(sp.get("warmup", 1))):
            generate(use_cache, min(N, 8))
        t0 = time.perf_counter()
        generate(use_cache, N)
        dt = time.perf_counter() - t0
        out[name] = {"seconds": dt, "tokensPerS": B * N / dt, "msPerToken": 1000 * dt / N}
        log(f"sample {name}: {B * N / dt:.0f} tokens/s")
    if "full" in out:
        out["speedup"] = out["full"]["seconds"] / out["cached"]["seconds"]
    out["cacheMaxAbsDiff"] = cache_check(torch, model, m, prompts)
    return out


@torch_no_grad_lazy
def cache_check(torch, model, m, prompts):
    """Max |logits(cached) - logits(full)| over 8 continuation tokens: the cache is exact."""
    extra = torch.randint(3, m["vocabSize"], (prompts.shape[0], 8), generator=torch.Generator().manual_seed(4))
    seq = torch.cat([prompts, extra], dim=1)
    full = model(seq)
    caches = [dict() for _ in range(m["nLayer"])]
    P = prompts.shape[1]
    mark = int(model.sections["mark"]) if model.sections else -1
    marks = (prompts == mark).long().sum(1)
    steps = [model(prompts, caches, 0)[:, -1:]]
    for i in range(8):
        steps.append(model(extra[:, i:i + 1], caches, P + i, marks))
        marks = marks + (extra[:, i] == mark).long()
    cached = torch.cat(steps[:-1], dim=1)  # logits predicting positions P..P+7
    return float((cached - full[:, P - 1:P + 7]).abs().max())


if __name__ == "__main__":
    try:
        main()
    except Exception as e:  # noqa: BLE001 -- the caller reads JSON, never a traceback
        import traceback
        traceback.print_exc(file=sys.stderr)
        print(json.dumps({"ok": False, "error": f"{type(e).__name__}: {e}"}))
