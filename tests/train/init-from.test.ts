import { test, before } from "node:test";
import assert from "node:assert/strict";
import { tempDir } from "../helpers/tmp.js";
import { tf, useBackend } from "./setup.js";
import { GPT, type GPTConfig } from "../../src/model/gpt.js";
import { CharTokenizer } from "../../src/model/tokenizer.js";
import { saveCheckpoint } from "../../src/run/checkpoint.js";
import { initFromCheckpoint } from "../../src/train/init-from.js";

before(useBackend);

const base = (over: Partial<GPTConfig> = {}): GPTConfig => ({
  vocabSize: new CharTokenizer().vocabSize,
  blockSize: 16,
  nEmbd: 16,
  nLayer: 1,
  nHead: 2,
  dropout: 0,
  seed: 3,
  ...over,
});
const values = (m: GPT, name: string) => Array.from(m.params.get(name)!.dataSync());

/** A saved model whose weights differ from any seed's init (so a copy is detectable). */
function savedModel(config: GPTConfig): { dir: string; model: GPT } {
  const model = new GPT(config);
  for (const v of model.params.values()) tf.tidy(() => v.assign(tf.add(v, 0.5)));
  const dir = tempDir("bcr-init-");
  saveCheckpoint(dir, { model, step: 7 });
  return { dir, model };
}

test("a longer context keeps the checkpoint's position rows, the new model's own rows beyond them, every other weight, and the outputs on short inputs", () => {
  const { dir, model: small } = savedModel(base());
  const big = new GPT(base({ blockSize: 24, seed: 11 }));
  const fresh = values(big, "transformer.wpe.weight"); // the seed-11 init, before loading
  const r = initFromCheckpoint(big, dir);
  assert.deepEqual(r.grew, { from: 16, to: 24 });

  const C = 16;
  const wpe = values(big, "transformer.wpe.weight");
  assert.equal(wpe.length, 24 * C);
  assert.deepEqual(wpe.slice(0, 16 * C), values(small, "transformer.wpe.weight"));
  assert.deepEqual(wpe.slice(16 * C), fresh.slice(16 * C));
  for (const name of small.params.keys()) {
    if (name !== "transformer.wpe.weight") assert.deepEqual(values(big, name), values(small, name), name);
  }
  // Independent check: on a sequence that fits the old context, both models compute the same logits.
  const tokens = tf.tensor2d([[1, 5, 9, 12, 7, 3, 4, 8, 2, 6, 10, 11, 13, 14, 15, 5]], [1, 16], "int32");
  const a = small.logits(tokens),
    b = big.logits(tokens);
  const maxDiff = tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]!);
  assert.ok(maxDiff < 1e-5, `logits differ by ${maxDiff}`);
  tf.dispose([tokens, a, b]);
  small.dispose();
  big.dispose();
});

test("the same context copies the checkpoint unchanged; a shorter context or another architecture is refused, naming the field", () => {
  const { dir, model: saved } = savedModel(base());
  const same = new GPT(base({ seed: 99 }));
  assert.equal(initFromCheckpoint(same, dir).grew, null);
  for (const name of saved.params.keys()) assert.deepEqual(values(same, name), values(saved, name), name);

  const shorter = new GPT(base({ blockSize: 12 }));
  const before = values(shorter, "transformer.wpe.weight");
  assert.throws(
    () => initFromCheckpoint(shorter, dir),
    /blockSize 16 \(checkpoint\) vs 12 \(expected\): the context may grow, not shrink/,
  );
  assert.deepEqual(values(shorter, "transformer.wpe.weight"), before, "nothing restored on refusal");

  const wider = new GPT(base({ blockSize: 24, nEmbd: 32 }));
  assert.throws(
    () => initFromCheckpoint(wider, dir),
    /model config differs: nEmbd 16 \(checkpoint\) vs 32 \(expected\)/,
  );
  for (const m of [saved, same, shorter, wider]) m.dispose();
});

test("a rotary model (no position table) grows its context with every weight copied", () => {
  const { dir, model: small } = savedModel(base({ positions: "rotary" }));
  const big = new GPT(base({ positions: "rotary", blockSize: 32 }));
  assert.deepEqual(initFromCheckpoint(big, dir).grew, { from: 16, to: 32 });
  for (const name of small.params.keys()) assert.deepEqual(values(big, name), values(small, name), name);
  small.dispose();
  big.dispose();
});
