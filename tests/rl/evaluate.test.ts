import { test } from "node:test";
import assert from "node:assert/strict";
import { initBackend } from "../../src/engine/backend.js";
import { GPT } from "../../src/model/gpt.js";
import { CharTokenizer } from "../../src/model/tokenizer.js";
import { evaluatePolicy } from "../../src/rl/evaluate.js";
import { generateProblems } from "../../src/tasks/synthetic.js";

await initBackend();
const tok = new CharTokenizer();

test("evaluatePolicy states a target length in front of every prompt only when given one (target x N)", async () => {
  const gpt = new GPT({
    vocabSize: tok.vocabSize,
    blockSize: 128,
    nEmbd: 16,
    nLayer: 1,
    nHead: 2,
    dropout: 0,
    seed: 3,
  });
  const problems = generateProblems(1, 4, [5]);
  const common = { budget: 4, temperature: 0, seed: 1 };
  const plain = await evaluatePolicy(gpt, tok, problems, { ...common, n: 1 });
  assert.ok(plain.examples.length > 0 && plain.examples.every((e) => /^1:/.test(e.prompt)), plain.examples[0]?.prompt);
  const single = await evaluatePolicy(gpt, tok, problems, { ...common, n: 1, targetLength: 8 });
  assert.ok(
    single.examples.every((e) => e.prompt.startsWith("L8 1:")),
    single.examples[0]?.prompt,
  );
  const packed = await evaluatePolicy(gpt, tok, problems, { ...common, n: 2, targetLength: 8 });
  assert.ok(
    packed.examples.every((e) => e.prompt.startsWith("L16 1:")),
    packed.examples[0]?.prompt,
  );
  gpt.dispose();
});
