// The per-(sequence, head) attention path against the straightforward batched one: values,
// gradients, masks, whole models, and no leaks.
import { test } from "node:test";
import assert from "node:assert/strict";
import { initBackend, tf } from "../../src/engine/backend.js";
import { causalSelfAttention, causalSelfAttentionBatched } from "../../src/model/attention.js";
import { GPT, gelu } from "../../src/model/gpt.js";
import { Rng } from "../../src/util/rng.js";
import { withPairwise } from "../helpers/attention.js";
import { prompt, TINY_GPT } from "../helpers/tiny-gpt.js";

await initBackend();
const rng = new Rng(5);
const rand = (shape: number[]) =>
  tf.tensor(
    Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => 2 * rng.next() - 1),
    shape,
  );
const maxDiff = (a: tf.Tensor, b: tf.Tensor) => tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]!);

test("per-pair attention equals the batched one: values and gradients, with and without left padding", () => {
  for (const [B, T, H, C, pads] of [
    [2, 5, 2, 8, undefined],
    [3, 7, 4, 16, [0, 2, 6]],
    [1, 1, 1, 4, undefined],
  ] as const) {
    tf.tidy(() => {
      const qkv = rand([B * T, 3 * C]) as tf.Tensor2D;
      const w = rand([B * T, C]);
      const keyPads = pads ? [...pads] : undefined;
      const a = causalSelfAttention(qkv, B, T, H, keyPads);
      const b = causalSelfAttentionBatched(qkv, B, T, H, keyPads);
      assert.deepEqual(a.shape, [B * T, C]);
      assert.ok(maxDiff(a, b) < 1e-5, `values B=${B} T=${T}: ${maxDiff(a, b)}`);
      const grad = (f: typeof causalSelfAttention) =>
        tf.grad((x: tf.Tensor) => tf.sum(tf.mul(f(x as tf.Tensor2D, B, T, H, keyPads), w)))(qkv);
      const ga = grad(causalSelfAttention),
        gb = grad(causalSelfAttentionBatched);
      assert.ok(maxDiff(ga, gb) < 1e-5, `gradients B=${B} T=${T}: ${maxDiff(ga, gb)}`);
      assert.ok(tf.max(tf.abs(ga)).dataSync()[0]! > 1e-3, "gradient is not trivially zero");
    });
  }
});

test("the per-pair path is causal: later tokens do not change earlier outputs", () => {
  tf.tidy(() => {
    const [B, T, H, C] = [1, 6, 2, 8];
    const qkv = rand([B * T, 3 * C]);
    const changed = tf.concat([tf.slice(qkv, [0, 0], [4, 3 * C]), rand([2, 3 * C])], 0);
    const a = causalSelfAttention(qkv as tf.Tensor2D, B, T, H).arraySync();
    const b = causalSelfAttention(changed as tf.Tensor2D, B, T, H).arraySync();
    for (let t = 0; t < 4; t++) assert.deepEqual(a[t], b[t]);
    assert.notDeepEqual(a[5], b[5]);
  });
});

test("a whole model gives the same log-probs and gradients through either attention path", () => {
  const m = new GPT(TINY_GPT);
  const x = tf.tensor2d([prompt("12+34=46"), prompt("9*9=81\n#")], [2, 9], "int32");
  const vars = [...m.params.values()];
  const run = () =>
    tf.variableGrads(() => tf.sum(tf.mul(m.tokenLogProbs(x), tf.linspace(-1, 1, 8))) as tf.Scalar, vars);
  const a = withPairwise(true, run),
    b = withPairwise(false, run);
  assert.ok(maxDiff(a.value, b.value) < 1e-4);
  for (const v of vars) assert.ok(maxDiff(a.grads[v.name]!, b.grads[v.name]!) < 1e-4, v.name);
  tf.dispose([x, a.value, b.value, ...Object.values(a.grads), ...Object.values(b.grads)]);
  m.dispose();
});

test("generate with a per-pair prefill of ragged prompts equals full recompute", () => {
  const m = new GPT(TINY_GPT);
  const prompts = [prompt(""), prompt("12+7="), prompt("(5-2)*9=")];
  const r = withPairwise(true, () => m.generate(prompts, { maxNewTokens: 8, rng: new Rng(4) }));
  const s = withPairwise(false, () => m.generate(prompts, { maxNewTokens: 8, rng: new Rng(4), useCache: false }));
  assert.deepEqual(r.tokens, s.tokens);
  r.logProbs.forEach((row, i) => row.forEach((v, t) => assert.ok(Math.abs(v - s.logProbs[i]![t]!) < 1e-4)));
  m.dispose();
});

test("no tensor leaks through the per-pair path (forward, backward, generate)", () => {
  const m = new GPT(TINY_GPT);
  const x = tf.tensor2d([prompt("12+34=46")], [1, 9], "int32");
  const vars = [...m.params.values()];
  const round = () =>
    withPairwise(true, () => {
      m.logits(x).dispose();
      const { value, grads } = tf.variableGrads(() => tf.neg(tf.mean(m.tokenLogProbs(x))) as tf.Scalar, vars);
      tf.dispose([value, ...Object.values(grads)]);
      m.generate([prompt("1+1="), prompt("2")], { maxNewTokens: 4, rng: new Rng(1), stopTokens: [[5], []] });
    });
  round();
  const before = tf.memory().numTensors;
  for (let i = 0; i < 2; i++) round();
  assert.equal(tf.memory().numTensors, before);
  x.dispose();
  m.dispose();
});

test("gelu (computed with a sigmoid) is PyTorch's tanh approximation, and its gradient matches", () => {
  tf.tidy(() => {
    const x = tf.linspace(-6, 6, 101);
    const ref = (t: tf.Tensor) =>
      tf.mul(
        tf.mul(0.5, t),
        tf.add(1, tf.tanh(tf.mul(Math.sqrt(2 / Math.PI), tf.add(t, tf.mul(0.044715, tf.pow(t, 3)))))),
      );
    assert.ok(maxDiff(gelu(x), ref(x)) < 1e-6);
    assert.ok(maxDiff(tf.grad(gelu)(x), tf.grad(ref)(x)) < 1e-5);
  });
});
