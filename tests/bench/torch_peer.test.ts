import { test } from "node:test";
import assert from "node:assert/strict";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { gptParamCount } from "../../src/profile/report.js";
import { runTorchPeer } from "../../bench/lib/torch.js";

const script = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../bench/torch_peer.py");
const model = { vocabSize: 40, blockSize: 32, nEmbd: 16, nLayer: 2, nHead: 2, dropout: 0, seed: 0 };

test("the PyTorch peer has the contract's parameter count and an exact KV cache", async (t) => {
  const probe = await runTorchPeer(script, { model, threads: 1 });
  if (!probe.ok && /import torch failed|not found/.test(probe.error ?? "")) {
    t.skip(`PyTorch unavailable: ${probe.error}`);
    return;
  }
  const res = await runTorchPeer(script, {
    model,
    threads: 1,
    train: { batch: 2, seqLen: 16, steps: 2, warmup: 1 },
    sample: { batch: 3, promptLen: 4, newTokens: 6, warmup: 1, full: true },
  });
  assert.equal(res.ok, true, res.error);
  assert.equal(res.params, gptParamCount(model));
  assert.ok(res.train!.tokensPerS > 0);
  assert.ok(res.sample!.cacheMaxAbsDiff < 1e-4, `cache differs from full recompute by ${res.sample!.cacheMaxAbsDiff}`);
  assert.ok(res.sample!.speedup! > 0);
});

test("a missing interpreter is reported, not thrown", async () => {
  const res = await runTorchPeer(script, { model }, { python: "/nonexistent/python3" });
  assert.equal(res.ok, false);
  assert.match(res.error!, /not found/);
});

test("the peer's section-position model has the section table's parameters and an exact cache; per-step lengths are honoured", async (t) => {
  const sections = { ...model, positions: "sections" as const, sections: { promptEnd: 7, mark: 5, maxSection: 3 } };
  const res = await runTorchPeer(script, {
    model: sections,
    threads: 1,
    train: { batch: 2, seqLen: 16, seqLens: [12, 16], steps: 2, warmup: 1 },
    sample: { batch: 3, promptLen: 4, newTokens: 6, warmup: 1, full: true },
  });
  if (!res.ok && /import torch failed|not found/.test(res.error ?? "")) {
    t.skip(`PyTorch unavailable: ${res.error}`);
    return;
  }
  assert.equal(res.ok, true, res.error);
  assert.equal(res.params, gptParamCount(sections));
  assert.equal(res.params, gptParamCount(model) + 4 * model.nEmbd);
  assert.deepEqual((res.train as unknown as { seqLens: number[] }).seqLens, [12, 16]);
  assert.ok(res.sample!.cacheMaxAbsDiff < 1e-4, `cache differs from full recompute by ${res.sample!.cacheMaxAbsDiff}`);
});
