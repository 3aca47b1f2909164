import { test, before } from "node:test";
import assert from "node:assert/strict";
import { initBackend, tf } from "../../src/engine/backend.js";
import { ensureGradients } from "../../src/train/gradients.js";
import {
  grpoSurrogate,
  grpoSurrogateReference,
  tokenLogProbsAndEntropy,
  type SurrogateConfig,
} from "../../src/rl/loss.js";

before(async () => {
  await initBackend();
  ensureGradients();
});

const close = (a: number, b: number, tol = 1e-5) => assert.ok(Math.abs(a - b) < tol, `${a} vs ${b}`);

// Hand-worked example (clip 0.2 low / 0.28 high):
//  seq 0, A=+1, ratios 1.5, 0.9 (third position masked):
//     min(1.5, 1.28) = 1.28 (clipped), min(0.9, 0.9) = 0.9          -> sum 2.18, mean 1.09
//  seq 1, A=-0.5, ratios 0.5, 1.2, 1.0:
//     min(-0.25, -0.4) = -0.4 (clipped), -0.6, -0.5                  -> sum -1.5, mean -0.5
//  seq-mean  : (1.09 - 0.5) / 2        = 0.295  -> loss -0.295
//  token-mean: (2.18 - 1.5) / 5        = 0.136  -> loss -0.136
//  const (4) : 0.68 / (2 * 4)          = 0.085  -> loss -0.085
//  clip fraction 2 of 5 tokens         = 0.4
const old = [
  [-1, -2, -0.5],
  [-1, -1, -3],
];
const ratios = [
  [1.5, 0.9, 1],
  [0.5, 1.2, 1],
];
const logp = old.map((row, i) => row.map((o, t) => o + Math.log(ratios[i]![t]!)));
const mask = [
  [1, 1, 0],
  [1, 1, 1],
];
const adv = [1, -0.5];
const base: SurrogateConfig = { clipLow: 0.2, clipHigh: 0.28, klBeta: 0, aggregation: "seq-mean", budget: 4 };

for (const [aggregation, expected] of [
  ["seq-mean", -0.295],
  ["token-mean", -0.136],
  ["const", -0.085],
] as const) {
  test(`clipped surrogate, ${aggregation}, matches the hand-worked value`, () => {
    const cfg = { ...base, aggregation };
    const parts = grpoSurrogate(tf.tensor2d(logp), tf.tensor2d(old), tf.tensor1d(adv), tf.tensor2d(mask), cfg);
    close(parts.loss.dataSync()[0]!, expected);
    close(parts.clipFrac.dataSync()[0]!, 0.4);
    const ref = grpoSurrogateReference(logp, old, adv, mask, cfg);
    close(ref.loss, expected, 1e-9);
    close(ref.clipFrac, 0.4, 1e-12);
  });
}

test("surrogate gradient with the KL term matches finite differences of the reference", () => {
  const cfg: SurrogateConfig = { ...base, klBeta: 0.1, aggregation: "token-mean" };
  const ref = [
    [-1.2, -1.7, -0.4],
    [-0.8, -1.1, -2.5],
  ];
  // Move ratios off the clip boundaries so the objective is differentiable at this point.
  const lp = old.map((row, i) => row.map((o, t) => o + Math.log([1.1, 0.95, 1][t]! + 0.01 * i)));
  const f = (x: tf.Tensor) =>
    grpoSurrogate(x as tf.Tensor2D, tf.tensor2d(old), tf.tensor1d(adv), tf.tensor2d(mask), cfg, tf.tensor2d(ref)).loss;
  const g = tf.grad(f)(tf.tensor2d(lp)).arraySync() as number[][];
  const h = 1e-4;
  for (let i = 0; i < 2; i++)
    for (let t = 0; t < 3; t++) {
      const plus = lp.map((r) => r.slice());
      const minus = lp.map((r) => r.slice());
      plus[i]![t]! += h;
      minus[i]![t]! -= h;
      const fd =
        (grpoSurrogateReference(plus, old, adv, mask, cfg, ref).loss -
          grpoSurrogateReference(minus, old, adv, mask, cfg, ref).loss) /
        (2 * h);
      close(g[i]![t]!, fd, 2e-3);
      if (!mask[i]![t]) assert.ok(Math.abs(g[i]![t]!) < 1e-12, "masked positions get no gradient");
    }
});

test("KL term is zero when the policy equals the reference and positive otherwise", () => {
  const cfg: SurrogateConfig = { ...base, klBeta: 1 };
  const same = grpoSurrogate(
    tf.tensor2d(logp),
    tf.tensor2d(old),
    tf.tensor1d(adv),
    tf.tensor2d(mask),
    cfg,
    tf.tensor2d(logp),
  );
  close(same.kl.dataSync()[0]!, 0);
  const diff = grpoSurrogate(
    tf.tensor2d(logp),
    tf.tensor2d(old),
    tf.tensor1d(adv),
    tf.tensor2d(mask),
    cfg,
    tf.tensor2d(old),
  );
  assert.ok(diff.kl.dataSync()[0]! > 0.01);
  assert.throws(
    () => grpoSurrogate(tf.tensor2d(logp), tf.tensor2d(old), tf.tensor1d(adv), tf.tensor2d(mask), cfg),
    /reference/,
  );
});

test("token log-probs and entropy from logits match a direct computation", () => {
  const logits = tf.tensor3d([
    [
      [1, 2, 0.5],
      [0, 0, 0],
      [3, -1, 2],
    ],
  ]);
  const tokens = tf.tensor2d([[0, 1, 2]], undefined, "int32");
  const { logp, entropy } = tokenLogProbsAndEntropy(logits, tokens);
  const lse = (xs: number[]) => Math.log(xs.reduce((a, x) => a + Math.exp(x), 0));
  const l = logp.arraySync()[0]!;
  close(l[0]!, 2 - lse([1, 2, 0.5]));
  close(l[1]!, 0 - lse([0, 0, 0]));
  close(entropy.arraySync()[0]![1]!, Math.log(3));
});
