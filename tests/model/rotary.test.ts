// Rotary positions: the rotation against an independent complex-number computation, the
// relative-offset property that is the point of it, and a rotary GPT through every path
// (gradients, KV cache, left padding, per-pair attention, SFT checkpoints).
import { test } from "node:test";
import assert from "node:assert/strict";
import { initBackend, tf } from "../../src/engine/backend.js";
import { GPT, type GPTConfig } from "../../src/model/gpt.js";
import { applyRotary, rotateQueriesKeys, RotaryTable, ROTARY_BASE } from "../../src/model/rotary.js";
import { loadLocal } from "../../src/train/load-local.js";
import { SftConfigSchema } from "../../src/train/sft-config.js";
import { trainSft } from "../../src/train/sft.js";
import { parseConfig } from "../../src/util/config.js";
import { Rng } from "../../src/util/rng.js";
import { tempDir } from "../helpers/tmp.js";
import { assertGradientsMatchFiniteDifferences } from "../helpers/finite-diff.js";
import { withPairwise } from "../helpers/attention.js";
import {
  assertCacheMatchesRecompute,
  assertSampledLogProbsMatchScoring,
  sharpenAttention,
} from "../helpers/decoding.js";
import { prompt, TINY_GPT } from "../helpers/tiny-gpt.js";

await initBackend();
const ROTARY: GPTConfig = { ...TINY_GPT, positions: "rotary" };
const RAGGED = [prompt(""), prompt("12+7="), prompt("3*4"), prompt("(5-2)*9=")];
const rng = new Rng(11);
const randArray = (n: number) => Float32Array.from({ length: n }, () => 2 * rng.next() - 1);

/** A rotary GPT with sharp attention, so a wrong rotation shows (see sharpenAttention). */
const sharpRotary = (config: GPTConfig = ROTARY) => sharpenAttention(new GPT(config));

test("the rotation equals multiplying each (i, i+hd/2) pair, as a complex number, by e^(i pos base^(-2i/hd))", () => {
  const H = 2,
    hd = 8,
    C = H * hd,
    half = hd / 2;
  const positions = [0, 1, 5, 31];
  const x = randArray(positions.length * 3 * C);
  const y = x.slice();
  rotateQueriesKeys(y, positions, H, new RotaryTable(32, hd));
  positions.forEach((p, r) => {
    const row = r * 3 * C;
    for (let col = 0; col < 3 * C; col++) {
      const inQK = col < 2 * C;
      const i = col % hd;
      let want = x[row + col]!;
      if (inQK) {
        const k = i % half;
        const theta = p / ROTARY_BASE ** ((2 * k) / hd);
        const re = x[row + col - i + k]!,
          im = x[row + col - i + k + half]!;
        // (re + i im) (cos + i sin): real part goes to column k, imaginary to k + half
        want = i < half ? re * Math.cos(theta) - im * Math.sin(theta) : re * Math.sin(theta) + im * Math.cos(theta);
      }
      assert.ok(Math.abs(y[row + col]! - want) < 1e-5, `pos ${p} col ${col}: ${y[row + col]} vs ${want}`);
    }
  });
  // Position 0 is the identity; v columns are never touched.
  for (let c = 0; c < 3 * C; c++) assert.ok(Math.abs(y[c]! - x[c]!) < 1e-7);
});

test("rotated q.k depends only on the offset between query and key; the inverse rotation undoes it", () => {
  const H = 1,
    hd = 16,
    C = hd;
  const table = new RotaryTable(64, hd);
  const q = randArray(3 * C),
    k = randArray(3 * C);
  const score = (m: number, n: number) => {
    const a = q.slice(),
      b = k.slice();
    rotateQueriesKeys(a, [m], H, table);
    rotateQueriesKeys(b, [n], H, table);
    let s = 0;
    for (let d = 0; d < C; d++) s += a[d]! * b[C + d]!; // q part of a, k part of b
    return s;
  };
  for (const [m, n, shift] of [
    [7, 3, 20],
    [10, 10, 40],
    [30, 2, 31],
  ] as const) {
    assert.ok(Math.abs(score(m, n) - score(m + shift, n + shift)) < 1e-4, `offset ${m - n} shifted by ${shift}`);
  }
  assert.ok(Math.abs(score(7, 3) - score(7, 4)) > 1e-3, "a different offset gives a different score");
  const back = q.slice();
  rotateQueriesKeys(back, [37], H, table);
  rotateQueriesKeys(back, [37], H, table, true);
  back.forEach((v, i) => assert.ok(Math.abs(v - q[i]!) < 1e-5));
});

test("applyRotary's gradient matches finite differences; bad positions and head sizes are refused", () => {
  const H = 2,
    C = 8,
    R = 3;
  const table = new RotaryTable(16, C / H);
  const positions = Int32Array.from([2, 9, 15]);
  const x = tf.tensor2d(randArray(R * 3 * C), [R, 3 * C]);
  const w = tf.tensor2d(randArray(R * 3 * C), [R, 3 * C]);
  const f = (t: tf.Tensor) => tf.sum(tf.mul(tf.square(applyRotary(t as tf.Tensor2D, positions, H, table)), w));
  const g = tf.grad(f)(x).dataSync();
  const base = x.dataSync();
  const eps = 1e-2;
  for (const i of [0, 5, 13, 30, 50, 70]) {
    const at = (d: number) =>
      tf.tidy(() => {
        const v = base.slice();
        v[i]! += d;
        return f(tf.tensor2d(v, [R, 3 * C])).dataSync()[0]!;
      });
    const fd = (at(eps) - at(-eps)) / (2 * eps);
    assert.ok(Math.abs(fd - g[i]!) < 2e-3 + 1e-2 * Math.abs(g[i]!), `[${i}] ${g[i]} vs ${fd}`);
  }
  assert.throws(() => rotateQueriesKeys(new Float32Array(3 * C), [16], H, table), /position 16 is outside 0..15/);
  assert.throws(() => new RotaryTable(8, 5), /even head size/);
  assert.throws(() => new GPT({ ...ROTARY, nEmbd: 6, nHead: 2 }), /even head size/);
  assert.throws(
    () => new GPT({ ...ROTARY, positions: "alibi" as never }),
    /positions must be "learned", "rotary" or "sections"/,
  );
  tf.dispose([x, w]);
});

test("a rotary GPT has no position table, and its gradients match finite differences", () => {
  const m = new GPT({ ...ROTARY, nEmbd: 8, blockSize: 8 });
  assert.ok(!m.params.has("transformer.wpe.weight"));
  const tokens = tf.tensor2d([prompt("1+2=3"), prompt("7-4=3")], [2, 6], "int32");
  const w = tf.tensor2d([
    [0.3, -1, 0.5, 1, -0.2],
    [1, 0.1, -0.7, 0.4, 0.9],
  ]);
  const loss = () => tf.sum(tf.mul(m.tokenLogProbs(tokens), w)) as tf.Scalar;
  // c_attn columns 3 and 11 are q and k of the first head (rotated); 19 is a v column.
  assertGradientsMatchFiniteDifferences(m.params, loss, [
    ["transformer.h.0.attn.c_attn.weight", 2 * 24 + 3],
    ["transformer.h.0.attn.c_attn.weight", 5 * 24 + 11],
    ["transformer.h.1.attn.c_attn.weight", 19],
    ["transformer.wte.weight", 5 * 8 + 3],
  ]);
  tf.dispose([tokens, w]);
  m.dispose();
});

test("rotary: KV-cache decoding equals full recompute, and sampled logProbs equal each sequence scored alone", () => {
  const m = sharpRotary();
  const a = assertCacheMatchesRecompute(m, RAGGED, { maxNewTokens: 12, seed: 42, temperature: 1.2 });
  assertSampledLogProbsMatchScoring(m, RAGGED, a);
  m.dispose();
});

test("rotary: the per-pair attention path gives the batched path's log-probs and gradients, without leaking tensors", () => {
  const m = sharpRotary();
  const seqs = [prompt("12+34=46  "), prompt("9*9=81\n#a+")];
  const run = (pairwise: boolean) =>
    withPairwise(pairwise, () =>
      tf.tidy(() => {
        const tokens = tf.tensor2d(seqs, [2, seqs[0]!.length], "int32");
        const { value, grads } = tf.variableGrads(
          () => tf.sum(m.tokenLogProbs(tokens)) as tf.Scalar,
          [...m.params.values()],
        );
        const g = grads[m.params.get("transformer.h.0.attn.c_attn.weight")!.name]!.dataSync();
        return { lp: value.dataSync()[0]!, g: Array.from(g) };
      }),
    );
  const before = tf.memory().numTensors;
  const pairwise = run(true),
    batched = run(false);
  assert.equal(tf.memory().numTensors, before);
  assert.ok(Math.abs(pairwise.lp - batched.lp) < 1e-3, `${pairwise.lp} vs ${batched.lp}`);
  pairwise.g.forEach((v, i) => assert.ok(Math.abs(v - batched.g[i]!) < 1e-4, `grad ${i}`));
  m.dispose();
});

test("an SFT run with model.positions = rotary saves and reloads a rotary model; learned weights cannot seed it", async () => {
  const examples = Array.from({ length: 8 }, (_, i) => ({ prompt: `${i}+1=`, response: `${i + 1}` }));
  const config = (positions?: "rotary", init?: string) =>
    parseConfig(
      {
        seed: 7,
        ...(init ? { init } : {}),
        model: { blockSize: 16, nEmbd: 16, nLayer: 1, nHead: 2, ...(positions ? { positions } : {}) },
        train: { steps: 2, batchSize: 4, evalEvery: 0, checkpointEvery: 0 },
        optim: { lr: 1e-2, minLr: 1e-3, warmupSteps: 0 },
      },
      SftConfigSchema,
      "test",
    );
  const out = tempDir("bcr-rotary-");
  const r = await trainSft(config("rotary"), examples, out, { progress: false });
  r.model.dispose();
  const loaded = await loadLocal(out);
  assert.equal(loaded.gpt.config.positions, "rotary");
  assert.ok(!loaded.gpt.params.has("transformer.wpe.weight"));
  loaded.gpt.dispose();
  const learned = tempDir("bcr-learned-");
  (await trainSft(config(), examples, learned, { progress: false })).model.dispose();
  await assert.rejects(
    trainSft(config("rotary", learned), examples, tempDir("bcr-x-"), { progress: false }),
    /wpe|positions|parameters|config/i,
  );
});

test("rotation is really applied: the same weights without positions (learned table zeroed) score differently", () => {
  const rot = sharpRotary();
  const plain = new GPT({ ...ROTARY, positions: "learned" });
  for (const [name, v] of plain.params) {
    v.assign(name === "transformer.wpe.weight" ? tf.zerosLike(v) : rot.params.get(name)!);
  }
  const seq = prompt("12+34=46  9");
  const score = (m: GPT) =>
    tf.tidy(() => Array.from(m.tokenLogProbs(tf.tensor2d([seq], [1, seq.length], "int32")).dataSync()));
  const a = score(rot),
    b = score(plain);
  // Position 0 has only itself to attend to, so only later tokens can differ.
  assert.ok(Math.abs(a[0]! - b[0]!) < 1e-5);
  assert.ok(Math.max(...a.map((v, i) => Math.abs(v - b[i]!))) > 1e-2, "rotary scores equal no-position scores");
  rot.dispose();
  plain.dispose();
});
