import { test } from "node:test";
import assert from "node:assert/strict";
import { initBackend, tf } from "../../src/engine/backend.js";
import { DEFAULT_GPT, GPT, kvCacheSettings } from "../../src/model/gpt.js";
import { decodeSettings } from "../../src/model/native-decode.js";
import { CharTokenizer } from "../../src/model/tokenizer.js";
import { Rng } from "../../src/util/rng.js";
import { assertGradientsMatchFiniteDifferences } from "../helpers/finite-diff.js";
import { assertSampledLogProbsMatchScoring } from "../helpers/decoding.js";
import { prompt, TINY_GPT, tok } from "../helpers/tiny-gpt.js";

await initBackend();
const RAGGED = [prompt(""), prompt("12+7="), prompt("3*4"), prompt("(5-2)*9=")];

test("DEFAULT_GPT matches the tokenizer and the contract's shape", () => {
  assert.equal(DEFAULT_GPT.vocabSize, tok.vocabSize);
  assert.deepEqual(
    { ...DEFAULT_GPT, vocabSize: 0 },
    { vocabSize: 0, blockSize: 512, nEmbd: 64, nLayer: 2, nHead: 4, dropout: 0, seed: 1 },
  );
  const m = new GPT(DEFAULT_GPT);
  assert.equal(m.params.get("transformer.h.1.attn.c_attn.weight")!.shape.join("x"), "64x192");
  assert.ok(!m.params.has("lm_head.weight"), "head is tied to wte");
  m.dispose();
});

test("init: biases 0, LN weight 1, stds 0.02 and 0.02/sqrt(2*nLayer) for residual projections", () => {
  const m = new GPT({ ...DEFAULT_GPT, nLayer: 4 });
  const std = (name: string) => {
    const d = Array.from(m.params.get(name)!.dataSync() as Float32Array);
    const mu = d.reduce((a, b) => a + b, 0) / d.length;
    return Math.sqrt(d.reduce((a, b) => a + (b - mu) ** 2, 0) / d.length);
  };
  assert.ok(Math.abs(std("transformer.wte.weight") - 0.02) < 0.002);
  assert.ok(Math.abs(std("transformer.h.0.mlp.c_fc.weight") - 0.02) < 0.001);
  assert.ok(Math.abs(std("transformer.h.2.mlp.c_proj.weight") - 0.02 / Math.sqrt(8)) < 0.0005);
  assert.ok(Math.abs(std("transformer.h.3.attn.c_proj.weight") - 0.02 / Math.sqrt(8)) < 0.0007);
  assert.ok(
    m.params
      .get("transformer.h.0.attn.c_attn.bias")!
      .dataSync()
      .every((v) => v === 0),
  );
  assert.ok(
    m.params
      .get("transformer.ln_f.weight")!
      .dataSync()
      .every((v) => v === 1),
  );
  m.dispose();
});

test("tokenLogProbs equals log_softmax(logits) at the next token, computed independently", () => {
  const m = new GPT(TINY_GPT);
  const seqs = [prompt("12+34=46"), prompt("9*9=81\n#")];
  const T = 9;
  const tokens = tf.tensor2d(
    seqs.map((s) => s.slice(0, T)),
    [2, T],
    "int32",
  );
  const lp = m.tokenLogProbs(tokens).arraySync();
  const logits = m.logits(tokens).arraySync();
  for (let b = 0; b < 2; b++) {
    for (let t = 0; t < T - 1; t++) {
      const row = logits[b]![t]!;
      const max = Math.max(...row);
      const lse = max + Math.log(row.reduce((a, v) => a + Math.exp(v - max), 0));
      assert.ok(Math.abs(lp[b]![t]! - (row[seqs[b]![t + 1]!]! - lse)) < 1e-4, `b=${b} t=${t}`);
    }
  }
  tokens.dispose();
  m.dispose();
});

test("gradients of a small loss match central finite differences in several tensors", () => {
  const m = new GPT({ ...TINY_GPT, nEmbd: 8, blockSize: 8 });
  const tokens = tf.tensor2d([prompt("1+2=3"), prompt("7-4=3")], [2, 6], "int32");
  const w = tf.tensor2d([
    [0.3, -1, 0.5, 1, -0.2],
    [1, 0.1, -0.7, 0.4, 0.9],
  ]);
  const loss = () => tf.sum(tf.mul(m.tokenLogProbs(tokens), w)) as tf.Scalar;
  assertGradientsMatchFiniteDifferences(m.params, loss, [
    ["transformer.wte.weight", 5 * 8 + 3],
    ["transformer.wpe.weight", 2 * 8 + 1],
    ["transformer.h.0.attn.c_attn.weight", 3 * 24 + 17],
    ["transformer.h.0.attn.c_proj.weight", 9],
    ["transformer.h.1.mlp.c_fc.bias", 7],
    ["transformer.h.1.ln_1.weight", 4],
    ["transformer.ln_f.bias", 2],
  ]);
  tf.dispose([tokens, w]);
  m.dispose();
});

test("a tiny model overfits a handful of sequences with Adam", () => {
  const m = new GPT({ ...TINY_GPT, nEmbd: 32, nHead: 4, nLayer: 1, blockSize: 16 });
  const data = ["12+34=46", "7*8=56  ", "99-9=90 ", "3+4*2=11"].map((s) => [...prompt(s), CharTokenizer.EOS]);
  const tokens = tf.tensor2d(data, [4, 10], "int32");
  const opt = tf.train.adam(2e-2);
  const vars = [...m.params.values()];
  let last = Infinity;
  for (let step = 0; step < 100; step++) {
    const cost = opt.minimize(() => tf.neg(tf.mean(m.tokenLogProbs(tokens))) as tf.Scalar, true, vars)!;
    last = cost.dataSync()[0]!;
    cost.dispose();
  }
  // The first character after BOS is one of 4 equally likely, so the floor is ln(4)/9 = 0.154.
  const floor = Math.log(4) / 9;
  assert.ok(last < floor + 0.05, `mean NLL after 100 steps: ${last} (floor ${floor.toFixed(3)}, start ~4.5)`);
  opt.dispose();
  tokens.dispose();
  m.dispose();
});

test("KV-cache decoding equals full recompute on ragged prompts (tokens, logProbs)", () => {
  const m = new GPT(TINY_GPT);
  for (const opts of [{ temperature: 1 }, { temperature: 0.7, topP: 0.9 }, { temperature: 0 }]) {
    const a = m.generate(RAGGED, { maxNewTokens: 12, rng: new Rng(42), ...opts });
    const b = m.generate(RAGGED, { maxNewTokens: 12, rng: new Rng(42), useCache: false, ...opts });
    assert.deepEqual(a.tokens, b.tokens);
    assert.deepEqual(a.stopped, b.stopped);
    a.logProbs.forEach((row, i) => row.forEach((v, t) => assert.ok(Math.abs(v - b.logProbs[i]![t]!) < 1e-4)));
  }
  m.dispose();
});

test("sampled logProbs equal each sequence scored alone, unpadded (positions are per sequence)", () => {
  const m = new GPT(TINY_GPT);
  const r = m.generate(RAGGED, { maxNewTokens: 10, rng: new Rng(7), temperature: 1.3 });
  assertSampledLogProbsMatchScoring(m, RAGGED, r);
  m.dispose();
});

test("per-sequence stop tokens end sequences, which stop growing; the rest continue", () => {
  const m = new GPT(TINY_GPT);
  // Many stop ids so rows stop at different steps and the cache drops rows mid-generation.
  const half = Array.from({ length: 40 }, (_, i) => i + 3);
  const stops = [half, [], half.slice(0, 20), [CharTokenizer.EOS]];
  const a = m.generate(RAGGED, { maxNewTokens: 15, rng: new Rng(3), stopTokens: stops });
  const b = m.generate(RAGGED, { maxNewTokens: 15, rng: new Rng(3), stopTokens: stops, useCache: false });
  assert.deepEqual(a, { ...b, logProbs: a.logProbs });
  a.tokens.forEach((row, i) => {
    const stopAt = row.findIndex((t) => stops[i]!.includes(t));
    if (a.stopped[i]) assert.equal(stopAt, row.length - 1, `row ${i} ends on its stop token`);
    else {
      assert.equal(stopAt, -1);
      assert.equal(row.length, 15);
    }
    assert.equal(a.logProbs[i]!.length, row.length);
  });
  assert.equal(a.stopped[1], false);
  assert.ok(a.stopped[0] && a.stopped[2], "rows with many stop ids stop early");
  // A shared list works too.
  const c = m.generate(RAGGED, { maxNewTokens: 15, rng: new Rng(3), stopTokens: half });
  assert.ok(c.stopped.every((s, i) => s === c.tokens[i]!.some((t) => half.includes(t))));
  m.dispose();
});

test("generate validates blockSize, empty prompts and stopTokens", () => {
  const m = new GPT(TINY_GPT);
  assert.throws(() => m.generate([prompt("12345")], { maxNewTokens: 27, rng: new Rng(1) }), /exceeds blockSize \(32\)/);
  assert.doesNotThrow(() => m.generate([prompt("12345")], { maxNewTokens: 26, rng: new Rng(1), temperature: 0 }));
  assert.throws(() => m.generate([[]], { maxNewTokens: 1, rng: new Rng(1) }), /prompt 0 is empty/);
  assert.throws(
    () => m.generate(RAGGED, { maxNewTokens: 1, rng: new Rng(1), stopTokens: [[2]] }),
    /1 lists for 4 prompts/,
  );
  assert.throws(() => m.logits(tf.zeros([1, 33], "int32") as tf.Tensor2D), /outside 1..blockSize/);
  m.dispose();
});

test("determinism: same seed, same weights and samples; another seed differs", () => {
  const a = new GPT(TINY_GPT),
    b = new GPT(TINY_GPT),
    c = new GPT({ ...TINY_GPT, seed: 4 });
  for (const [name, v] of a.params) assert.deepEqual(v.dataSync(), b.params.get(name)!.dataSync(), name);
  assert.notDeepEqual(
    a.params.get("transformer.wte.weight")!.dataSync(),
    c.params.get("transformer.wte.weight")!.dataSync(),
  );
  const s = (m: GPT) => m.generate(RAGGED, { maxNewTokens: 8, rng: new Rng(9) });
  assert.deepEqual(s(a), s(b));
  assert.notDeepEqual(s(a).tokens, s(c).tokens);
  a.dispose();
  b.dispose();
  c.dispose();
});

test("dropout only with training + dropoutSeed, and then reproducible", () => {
  const m = new GPT({ ...TINY_GPT, dropout: 0.2 });
  const x = tf.tensor2d([prompt("1+1=2")], [1, 6], "int32");
  const plain = m.logits(x).dataSync();
  assert.deepEqual(m.logits(x, { training: false, dropoutSeed: 5 }).dataSync(), plain);
  assert.throws(() => m.logits(x, { training: true }), /needs opts.dropoutSeed/);
  const d1 = m.logits(x, { training: true, dropoutSeed: 5 }).dataSync();
  assert.deepEqual(m.logits(x, { training: true, dropoutSeed: 5 }).dataSync(), d1);
  assert.notDeepEqual(d1, plain);
  x.dispose();
  m.dispose();
});

test("no tensor leaks across repeated forward, backward and generate", () => {
  const m = new GPT(TINY_GPT);
  const x = tf.tensor2d([prompt("12+34=46"), prompt("9*9=81\n#")], [2, 9], "int32");
  const vars = [...m.params.values()];
  const round = () => {
    m.logits(x).dispose();
    const { value, grads } = tf.variableGrads(() => tf.neg(tf.mean(m.tokenLogProbs(x))) as tf.Scalar, vars);
    tf.dispose([value, ...Object.values(grads)]);
    m.generate(RAGGED, { maxNewTokens: 6, rng: new Rng(1), stopTokens: [[5], [], [6], [7]] });
    m.generate(RAGGED, { maxNewTokens: 6, rng: new Rng(1), useCache: false });
  };
  round();
  const before = tf.memory().numTensors;
  for (let i = 0; i < 3; i++) round();
  assert.equal(tf.memory().numTensors, before);
  x.dispose();
  m.dispose();
});

test("finished rows that ride along in a large cached batch change nothing (same as recompute)", () => {
  const m = new GPT(TINY_GPT);
  // 24 prompts with varied stop sets: rows stop at many different steps, so the cached batch
  // keeps finished rows for a while and drops them in groups.
  const prompts = Array.from({ length: 24 }, (_, i) =>
    prompt(["1+2=", "7*8", "(3)", "", "99-1="][i % 5]!.slice(0, 1 + (i % 4))),
  );
  const stops = prompts.map((_, i) => Array.from({ length: 4 + 3 * (i % 7) }, (_, j) => 3 + ((i * 5 + j * 3) % 80)));
  const a = m.generate(prompts, { maxNewTokens: 14, rng: new Rng(8), stopTokens: stops });
  const b = m.generate(prompts, { maxNewTokens: 14, rng: new Rng(8), stopTokens: stops, useCache: false });
  assert.deepEqual(a.tokens, b.tokens);
  assert.deepEqual(a.stopped, b.stopped);
  a.logProbs.forEach((row, i) => row.forEach((v, t) => assert.ok(Math.abs(v - b.logProbs[i]![t]!) < 1e-4)));
  const stoppedAt = a.tokens.filter((_, i) => a.stopped[i]).map((t) => t.length);
  assert.ok(new Set(stoppedAt).size >= 4, `rows stop at several different steps: ${stoppedAt}`);
  m.dispose();
});

test("the two-block KV cache: decoding equals full recompute across folds and dropped rows, leaks nothing, and copies far less", async () => {
  const m = new GPT(TINY_GPT);
  const saved = kvCacheSettings.recentMax;
  const engine = decodeSettings.engine;
  try {
    // recentMax 3: the recent block folds every 3 steps, and rows stop (dropRows) mid-block;
    // on the tfjs step and (where the native kernel set is on) the native one
    kvCacheSettings.recentMax = 3;
    const half = Array.from({ length: 40 }, (_, i) => i + 3);
    const stops = [half, [], half.slice(0, 20), [CharTokenizer.EOS]];
    for (const e of ["tfjs", "native"] as const) {
      decodeSettings.engine = e;
      const before = tf.memory().numTensors;
      const a = m.generate(RAGGED, { maxNewTokens: 15, rng: new Rng(3), stopTokens: stops });
      assert.equal(tf.memory().numTensors, before, `tensors leaked by cached generate (${e} step)`);
      const b = m.generate(RAGGED, { maxNewTokens: 15, rng: new Rng(3), stopTokens: stops, useCache: false });
      assert.deepEqual(a.tokens, b.tokens);
      assert.deepEqual(a.stopped, b.stopped);
      a.logProbs.forEach((row, i) => row.forEach((v, t) => assert.ok(Math.abs(v - b.logProbs[i]![t]!) < 1e-4)));
    }

    // Values written by Concat kernels in one cached generate on the tfjs step (the native step
    // writes into a preallocated cache): recentMax 1 is the old one-block cache (the whole cache
    // copied every step); the default copies it once per recentMax steps.
    decodeSettings.engine = "tfjs";
    const long = new GPT({ ...TINY_GPT, blockSize: 256 });
    const concatValues = async (recentMax: number) => {
      kvCacheSettings.recentMax = recentMax;
      const info = await tf.profile(() => {
        long.generate(RAGGED, { maxNewTokens: 200, rng: new Rng(1) });
      });
      return info.kernels
        .filter((k) => k.name === "Concat")
        .reduce((s, k) => s + k.outputShapes.reduce((n, sh) => n + (sh ?? []).reduce((p, d) => p * d, 1), 0), 0);
    };
    const oneBlock = await concatValues(1);
    const twoBlocks = await concatValues(saved);
    long.dispose();
    // per step: the recent block (<= 32 positions) and the scores (1/hd of the keys) instead of
    // the whole cache; about 4x fewer values at these sizes (hd = 8), ~6x for the rollout's
    assert.ok(twoBlocks < oneBlock / 3, `Concat wrote ${twoBlocks} values with the recent block, ${oneBlock} without`);
  } finally {
    kvCacheSettings.recentMax = saved;
    decodeSettings.engine = engine;
    m.dispose();
  }
});
