import { test } from "node:test";
import assert from "node:assert/strict";
import { logProbOf, sampleToken } from "../../src/model/sample.js";
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
