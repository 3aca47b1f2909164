// The native decoding step (src/model/native-decode.ts, native/kernels.c's decodeStep) against
// the tfjs step it replaces: the same tokens, log-probs and top log-probs to the bit (===, not
// close), and the same logits at every step, for learned and section positions, ragged prompts
// (left pads), rows that stop early (so finished rows leave the cache), more new tokens than two
// recent blocks (so the recent block folds at least twice), a batch of one (the matrix-vector
// products), greedy and nucleus sampling. The committed study results were sampled with the tfjs
// step, so any difference here would change them. Then: that generate really takes the native
// step (one BcrDecodeStep kernel per cached step, a kernel count that does not grow with the
// tokens), where it does not, and that it leaks nothing.
import { test } from "node:test";
import assert from "node:assert/strict";
import { initBackend, tf } from "../../src/engine/backend.js";
import { nativeKernelsInfo } from "../../src/engine/native-kernels.js";
import { GPT, type GPTConfig, kvCacheSettings, type SampleOptions, type SampleResult } from "../../src/model/gpt.js";
import { decodeBuffers, decodeSettings, type DecodeEngine, NativeDecoder } from "../../src/model/native-decode.js";
import type { SectionSpec } from "../../src/model/sections.js";
import { CharTokenizer } from "../../src/model/tokenizer.js";
import { Rng } from "../../src/util/rng.js";
import { sharpenAttention } from "../helpers/decoding.js";
import { prompt, TINY_GPT, tok } from "../helpers/tiny-gpt.js";

await initBackend();
const skip = nativeKernelsInfo() ? false : "the native kernel set is not on (node scripts/build-native.mjs)";

const SPEC: SectionSpec = { promptEnd: tok.encode("\n")[0]!, mark: tok.encode(":")[0]!, maxSection: 3 };
const MODELS: [string, GPTConfig][] = [
  ["learned", { ...TINY_GPT, blockSize: 160 }],
  ["sections", { ...TINY_GPT, blockSize: 160, nEmbd: 24, nHead: 3, seed: 5, positions: "sections", sections: SPEC }],
];

const RAGGED = [prompt(""), prompt("12+7="), prompt("3*4"), prompt("(5-2)*9=")];
const PACKED = [prompt("1:5+1 2:7\n1:a5+1=6 A6 2:f"), prompt("1:3\n"), prompt("1:2-1 2:4 3:9\n1:A1 2:A4 3:")];
/** 24 prompts whose rows stop at many different steps: the batch drops finished rows several times. */
const MANY = Array.from({ length: 24 }, (_, i) =>
  prompt(["1+2=", "7*8", "(3)", "", "99-1="][i % 5]!.slice(0, 1 + (i % 4))),
);
const MANY_STOPS = MANY.map((_, i) => Array.from({ length: 2 + (i % 5) }, (_, j) => 3 + ((i * 7 + j * 11) % 80)));

/** Each case: prompts, options (the rng is made per run), and the recent block's size. */
const CASES: {
  name: string;
  prompts: number[][];
  opts: Omit<SampleOptions, "rng">;
  recentMax?: number;
  seed: number;
}[] = [
  {
    name: "ragged, 100 tokens (3 folds), top 3",
    prompts: RAGGED,
    opts: { maxNewTokens: 100, topLogProbs: 3 },
    seed: 1,
  },
  {
    name: "packed sections, nucleus",
    prompts: PACKED,
    opts: { maxNewTokens: 70, temperature: 1.3, topP: 0.9 },
    seed: 2,
  },
  {
    name: "24 rows stopping early (rows dropped), recent block of 3",
    prompts: MANY,
    opts: { maxNewTokens: 40, stopTokens: MANY_STOPS, topLogProbs: 2 },
    recentMax: 3,
    seed: 3,
  },
  {
    name: "24 rows stopping early, default recent block",
    prompts: MANY,
    opts: { maxNewTokens: 70, stopTokens: MANY_STOPS },
    seed: 4,
  },
  {
    name: "one row (matrix-vector products), greedy",
    prompts: [prompt("12+7=")],
    opts: { maxNewTokens: 80, temperature: 0 },
    seed: 5,
  },
  {
    name: "one row, recent block of 1 (a fold every step)",
    prompts: [prompt("9")],
    opts: { maxNewTokens: 30 },
    recentMax: 1,
    seed: 6,
  },
];

/** The raw bits of every value, so that === on floats cannot hide a -0 or a NaN. */
const bits = (a: Float32Array) => Array.from(new Uint32Array(a.buffer, a.byteOffset, a.length));

interface Recorded {
  result: SampleResult;
  /** Every step's logits as bits, in order (the prefill's first). */
  logits: number[][];
}

/**
 * generate on the given step, recording each step's logits: the tfjs step (GPT's private
 * tfjsStep, also the prefill's) and the native one (NativeDecoder.step), patched for the call.
 */
function recorded(engine: DecodeEngine, m: GPT, prompts: number[][], opts: SampleOptions, recentMax = 32): Recorded {
  const logits: number[][] = [];
  const gpt = GPT.prototype as unknown as { tfjsStep: (...args: unknown[]) => { logits: Float32Array } };
  const tfjsStep = gpt.tfjsStep;
  const nativeStep = NativeDecoder.prototype.step;
  const saved = { engine: decodeSettings.engine, recentMax: kvCacheSettings.recentMax };
  gpt.tfjsStep = function (this: unknown, ...args: unknown[]) {
    const r = tfjsStep.apply(this, args);
    logits.push(bits(r.logits));
    return r;
  };
  NativeDecoder.prototype.step = function (this: NativeDecoder, ...args: Parameters<NativeDecoder["step"]>) {
    const r = nativeStep.apply(this, args);
    logits.push(bits(r));
    return r;
  };
  try {
    decodeSettings.engine = engine;
    kvCacheSettings.recentMax = recentMax;
    return { result: m.generate(prompts, opts), logits };
  } finally {
    gpt.tfjsStep = tfjsStep;
    NativeDecoder.prototype.step = nativeStep;
    decodeSettings.engine = saved.engine;
    kvCacheSettings.recentMax = saved.recentMax;
  }
}

function assertIdentical(a: SampleResult, b: SampleResult, what: string): void {
  assert.deepEqual(b.tokens, a.tokens, `${what}: tokens`);
  assert.deepEqual(b.stopped, a.stopped, `${what}: stopped`);
  a.logProbs.forEach((row, i) =>
    row.forEach((v, t) => assert.ok(Object.is(b.logProbs[i]![t], v), `${what}: logProb of row ${i} token ${t}`)),
  );
  assert.equal(b.topLogProbs === undefined, a.topLogProbs === undefined, `${what}: topLogProbs`);
  a.topLogProbs?.forEach((row, i) =>
    row.forEach((top, t) =>
      top.forEach((e, j) => {
        const f = b.topLogProbs![i]![t]![j]!;
        assert.ok(f.token === e.token && Object.is(f.logProb, e.logProb), `${what}: top ${j} of row ${i} token ${t}`);
      }),
    ),
  );
}

for (const [kind, config] of MODELS) {
  test(`${kind} positions: the native step samples and scores to the bit what the tfjs step does, with the same logits at every step`, {
    skip,
  }, () => {
    const m = sharpenAttention(new GPT(config));
    try {
      for (const c of CASES) {
        const opts = (seed: number): SampleOptions => ({
          ...c.opts,
          // one stream per row for some cases: a row's draws must not depend on the batch's path
          rng: c.seed % 2 ? new Rng(seed) : c.prompts.map((_, i) => new Rng(seed * 100 + i)),
        });
        const a = recorded("tfjs", m, c.prompts, opts(c.seed), c.recentMax);
        const b = recorded("native", m, c.prompts, opts(c.seed), c.recentMax);
        assertIdentical(a.result, b.result, `${kind}, ${c.name}`);
        assert.equal(b.logits.length, a.logits.length, `${kind}, ${c.name}: steps`);
        a.logits.forEach((l, s) => assert.deepEqual(b.logits[s], l, `${kind}, ${c.name}: logits of step ${s}`));
        const steps = Math.max(...a.result.tokens.map((t) => t.length));
        assert.ok(a.logits.length === steps && steps > 1, `${kind}, ${c.name}: ${steps} steps recorded`);
      }
    } finally {
      m.dispose();
    }
  });
}

test("the cases exercise what they name: rows stop at many steps, the batch of 24 drops rows", { skip }, () => {
  const m = sharpenAttention(new GPT(MODELS[0]![1]));
  try {
    const r = m.generate(MANY, { maxNewTokens: 40, stopTokens: MANY_STOPS, rng: new Rng(3) });
    const stoppedAt = r.tokens.filter((_, i) => r.stopped[i]).map((t) => t.length);
    assert.ok(new Set(stoppedAt).size >= 5, `rows stop at several different steps: ${stoppedAt}`);
    assert.ok(r.stopped.filter((s) => !s).length >= 1, "some rows run to the end, past the drops");
  } finally {
    m.dispose();
  }
});

/** Kernels run by one generate, by name. */
async function kernelsOf(f: () => void): Promise<Map<string, number>> {
  const info = await tf.profile(f);
  const by = new Map<string, number>();
  for (const k of info.kernels) by.set(k.name, (by.get(k.name) ?? 0) + 1);
  return by;
}
const total = (by: Map<string, number>, except = "") =>
  [...by].reduce((s, [name, n]) => s + (name === except ? 0 : n), 0);

test("generate takes the native step: one BcrDecodeStep per cached step, and no more tfjs kernels for more tokens", {
  skip,
}, async () => {
  const m = new GPT({ ...TINY_GPT, blockSize: 64 });
  const engine = decodeSettings.engine;
  try {
    const run = (maxNewTokens: number) => () => {
      m.generate(RAGGED, { maxNewTokens, rng: new Rng(1) });
    };
    decodeSettings.engine = "native";
    const short = await kernelsOf(run(4));
    const long = await kernelsOf(run(40));
    assert.equal(short.get("BcrDecodeStep"), 3);
    assert.equal(long.get("BcrDecodeStep"), 39);
    // only the prefill runs on tfjs kernels: as many for 40 tokens as for 4
    assert.equal(total(long, "BcrDecodeStep"), total(short, "BcrDecodeStep"));
    assert.equal(long.get("Concat") ?? 0, 0, "no cache copies");
    // the tfjs step (the reference) runs dozens of kernels per step
    decodeSettings.engine = "tfjs";
    const tfjs = await kernelsOf(run(40));
    assert.equal(tfjs.get("BcrDecodeStep") ?? 0, 0);
    assert.ok(total(tfjs) > total(long) + 39 * 20, `${total(tfjs)} kernels on the tfjs step, ${total(long)} native`);
  } finally {
    decodeSettings.engine = engine;
    m.dispose();
  }
});

test("generate reuses the decoder's buffer from call to call, and a reused buffer gives the same bits as a fresh one", {
  skip,
}, () => {
  const m = new GPT({ ...TINY_GPT, blockSize: 64 });
  const engine = decodeSettings.engine;
  try {
    decodeSettings.engine = "native";
    const opts = (seed: number) => ({ maxNewTokens: 30, rng: new Rng(seed), temperature: 1.5, topLogProbs: 2 });
    const first = m.generate(RAGGED, opts(9));
    // a larger call, then the first again: its buffer now holds the larger call's cache and scratch
    m.generate([...RAGGED, ...RAGGED], { ...opts(3), maxNewTokens: 40 });
    const grown = decodeBuffers.allocated;
    const again = m.generate(RAGGED, opts(9));
    assert.ok(grown > 0);
    assert.equal(decodeBuffers.allocated, grown, "the smaller call reuses the buffer");
    assert.deepEqual(again, first);
    decodeSettings.engine = "tfjs";
    assert.deepEqual(m.generate(RAGGED, opts(9)), first);
  } finally {
    decodeSettings.engine = engine;
    m.dispose();
  }
});

test("the native step is not taken without the cache, for rotary models, or for one new token; it leaks nothing", {
  skip,
}, async () => {
  const learned = new GPT({ ...TINY_GPT, blockSize: 64 });
  const rotary = new GPT({ ...TINY_GPT, blockSize: 64, positions: "rotary" });
  try {
    const decodeSteps = async (f: () => void) => (await kernelsOf(f)).get("BcrDecodeStep") ?? 0;
    const opts = { maxNewTokens: 6, rng: new Rng(2) };
    assert.equal(await decodeSteps(() => void learned.generate(RAGGED, { ...opts, useCache: false })), 0);
    assert.equal(await decodeSteps(() => void rotary.generate(RAGGED, opts)), 0);
    assert.equal(await decodeSteps(() => void learned.generate(RAGGED, { ...opts, maxNewTokens: 1 })), 0);
    const round = () => learned.generate(RAGGED, { ...opts, stopTokens: [[5], [], [6, 7, 8], [CharTokenizer.EOS]] });
    round();
    const before = tf.memory().numTensors;
    for (let i = 0; i < 3; i++) round();
    assert.equal(tf.memory().numTensors, before, "tensors leaked by the native step");
  } finally {
    learned.dispose();
    rotary.dispose();
  }
});

test("NativeDecoder: steps before load, a full cache, rows out of order and an unknown BCR_DECODE are clear errors", {
  skip,
}, () => {
  const config = { ...TINY_GPT, blockSize: 64 };
  const m = new GPT(config);
  try {
    const d = NativeDecoder.open(config, m.params, true, 2, 3)!;
    assert.ok(d, "a decoder where the native set is on");
    const x = new Float32Array(2 * config.nEmbd);
    assert.throws(() => d.step(x, [0, 0], 32), /load\(\) the prefill's cache first/);
    const kv = Array.from({ length: config.nLayer }, () => ({
      k: tf.zeros([2 * config.nHead, 2, config.nEmbd / config.nHead]) as tf.Tensor3D,
      v: tf.zeros([2 * config.nHead, 2, config.nEmbd / config.nHead]) as tf.Tensor3D,
      rk: null,
      rv: null,
    }));
    d.load(kv, 2);
    tf.dispose(kv.flatMap((c) => [c.k, c.v]));
    assert.equal(d.step(x, [0, 1], 32).length, 2 * config.vocabSize);
    assert.throws(() => d.step(x, [0, 1], 32), /the cache is full \(3 positions\)/);
    assert.throws(() => d.keepRows([1, 0]), /not increasing rows of 2/);
    assert.throws(() => d.keepRows([2]), /not increasing rows of 2/);
    d.keepRows([1]);
    assert.equal(d.rows, 1);
    const saved = decodeSettings.engine;
    decodeSettings.engine = "tfjs";
    try {
      assert.equal(NativeDecoder.open(config, m.params, true, 2, 3), null, "decodeSettings.engine = tfjs");
      decodeSettings.engine = "fast" as DecodeEngine;
      assert.throws(
        () => NativeDecoder.open(config, m.params, true, 2, 3),
        /BCR_DECODE .* "native" or "tfjs", got "fast"/,
      );
    } finally {
      decodeSettings.engine = saved;
    }
    assert.equal(NativeDecoder.open(config, m.params, false, 2, 3), null, "native kernel set off");
  } finally {
    m.dispose();
  }
});
