import { test } from "node:test";
import assert from "node:assert/strict";
import { logProbOf, sampleToken, sampleWithLogProb } from "../../src/model/sample.js";
import { Rng } from "../../src/util/rng.js";

test("temperature 0 is argmax and draws nothing", () => {
  const rng = new Rng(1);
  assert.equal(sampleToken([0.1, 3, -2, 2.9], 0, 1, rng), 1);
  assert.equal(rng.state, new Rng(1).state);
});

test("top-p keeps only the nucleus; frequencies follow the renormalised probabilities", () => {
  const logits = [Math.log(0.5), Math.log(0.3), Math.log(0.15), Math.log(0.05)];
  const rng = new Rng(2);
  const counts = [0, 0, 0, 0];
  for (let i = 0; i < 4000; i++) counts[sampleToken(logits, 1, 0.7, rng)]!++;
  assert.equal(counts[2]! + counts[3]!, 0, "tokens outside the 0.8 nucleus never appear");
  assert.ok(Math.abs(counts[0]! / 4000 - 0.625) < 0.03, `p(0)=${counts[0]! / 4000}`);
});

test("logProbOf is log softmax", () => {
  assert.ok(Math.abs(logProbOf([1, 2, 3], 2) - (3 - Math.log(Math.exp(1) + Math.exp(2) + Math.exp(3)))) < 1e-12);
});

/** The sampler as generate ran it before sampleWithLogProb (issue 31): the draw, then logProbOf's own pass. */
function twoPasses(logits: Float32Array, temperature: number, topP: number, rng: Rng) {
  const V = logits.length;
  let token: number;
  if (temperature === 0) {
    token = 0;
    for (let i = 1; i < V; i++) if (logits[i]! > logits[token]!) token = i;
  } else {
    let max = -Infinity;
    for (let i = 0; i < V; i++) max = Math.max(max, logits[i]!);
    const p = Array.from(logits, (l) => Math.exp((l - max) / temperature));
    const total = p.reduce((a, b) => a + b, 0);
    let order = Array.from({ length: V }, (_, i) => i);
    let kept = total;
    if (topP < 1) {
      order.sort((a, b) => p[b]! - p[a]! || a - b);
      let cum = 0;
      let n = 0;
      while (n < V && cum < topP * total) cum += p[order[n++]!]!;
      order = order.slice(0, Math.max(n, 1));
      kept = cum;
    }
    let u = rng.next() * kept;
    token = order[order.length - 1]!;
    for (const i of order) {
      u -= p[i]!;
      if (u < 0) {
        token = i;
        break;
      }
    }
  }
  return { token, logProb: logProbOf(logits, token) };
}

test("sampleWithLogProb: the same token, the same rng draws and logProbOf's bits as the two passes it replaces", () => {
  const data = new Rng(7);
  let differentTokens = 0;
  for (let row = 0; row < 3000; row++) {
    const logits = Float32Array.from({ length: 89 }, () => (data.next() - 0.5) * 12);
    // a peaked row now and then, as a trained model's are
    if (row % 3 === 0) logits[row % 89] = 30;
    for (const [temperature, topP] of [
      [1, 1],
      [1, 0.9],
      [0.7, 1],
      [0, 1],
    ] as const) {
      const a = new Rng(row),
        b = new Rng(row);
      const got = sampleWithLogProb(logits, temperature, topP, a);
      const want = twoPasses(logits, temperature, topP, b);
      assert.equal(got.token, want.token, `row ${row}, T ${temperature}, topP ${topP}`);
      assert.ok(Object.is(got.logProb, want.logProb), `row ${row}: logProb ${got.logProb} vs ${want.logProb}`);
      assert.equal(a.state, b.state);
      assert.equal(sampleToken(logits, temperature, topP, new Rng(row)), want.token);
    }
    if (sampleToken(logits, 1, 1, new Rng(row)) !== sampleToken(logits, 1, 1, new Rng(row + 100_000)))
      differentTokens++;
  }
  // the comparison is not vacuous: different draws pick different tokens on many rows
  assert.ok(differentTokens > 500, `${differentTokens} rows`);
});
