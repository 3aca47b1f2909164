import { test, before } from "node:test";
import { tempDir } from "../helpers/tmp.js";
import assert from "node:assert/strict";
import * as path from "node:path";
import { initBackend } from "../../src/engine/backend.js";
import { GPT } from "../../src/model/gpt.js";
import { CharTokenizer } from "../../src/model/tokenizer.js";
import { saveCheckpoint } from "../../src/run/checkpoint.js";
import { generateProblems } from "../../src/tasks/synthetic.js";
import { LocalModel } from "../../src/model/local-model.js";
import { loadLocalModel } from "../../src/train/load-local.js";
import { parseBudget, sweepN } from "../../src/eval/sweep.js";
import { FakeGenerator } from "../eval/fakes.js";

const tok = new CharTokenizer();
let gpt: GPT;

before(async () => {
  await initBackend();
  gpt = new GPT({ vocabSize: tok.vocabSize, blockSize: 48, nEmbd: 16, nLayer: 1, nHead: 2, dropout: 0, seed: 3 });
});

test("a batch gives what each prompt gives alone (greedy), with exact counts and finish reasons", async () => {
  const m = new LocalModel({ model: gpt, tokenizer: tok, name: "tiny" });
  const reqs = [
    { prompt: "12+3", maxTokens: 6 },
    { prompt: "1", maxTokens: 3 },
    { prompt: "9-4-1=", maxTokens: 10 },
  ].map((r) => ({ ...r, temperature: 0 }));
  const batch = await m.complete(reqs);
  assert.equal(m.stats.generateCalls, 1);
  for (let i = 0; i < reqs.length; i++) {
    const [alone] = await m.complete([reqs[i]!]);
    assert.deepEqual(batch[i], alone);
    const c = batch[i]!;
    assert.ok(c.completionTokens >= 1 && c.completionTokens <= reqs[i]!.maxTokens);
    assert.equal(c.promptTokens, reqs[i]!.prompt.length + 1);
    assert.equal(c.tokensEstimated, false);
    if (c.finishReason === "length") assert.equal(c.completionTokens, reqs[i]!.maxTokens);
    if (c.finishReason === "length")
      assert.equal(c.text.length, c.completionTokens); // one char per token
    else assert.equal(c.text.length, c.completionTokens - 1); // EOS not in text
  }
  // Seeded sampling reproduces.
  const s1 = await m.complete([{ prompt: "5", maxTokens: 8, temperature: 1, seed: 7 }]);
  const s2 = await m.complete([{ prompt: "5", maxTokens: 8, temperature: 1, seed: 7 }]);
  assert.deepEqual(s1, s2);
});

test("bad items fail alone: unknown characters, prompts over the window; maxTokens is clamped", async () => {
  const m = new LocalModel({ model: gpt, tokenizer: tok });
  const [bad, long, clamped, ok] = await m.complete([
    { prompt: "€5", maxTokens: 4 },
    { prompt: "x".repeat(60), maxTokens: 4 },
    { prompt: "x".repeat(40), maxTokens: 100, temperature: 0 },
    { prompt: "1", maxTokens: 2, temperature: 0 },
  ]);
  assert.equal(bad!.finishReason, "error");
  assert.match(bad!.error!, /unknown character "€" at position 0/);
  assert.equal(long!.finishReason, "error");
  assert.match(long!.error!, /context window is 48/);
  assert.ok(clamped!.completionTokens <= 48 - 41);
  assert.notEqual(ok!.finishReason, "error");
});

test("stop strings cut the text and count the tokens up to the stop", async () => {
  const fake = new FakeGenerator(() => tok.encode("ab;cd|ef"));
  const m = new LocalModel({ model: fake, tokenizer: tok });
  const [one, multi, none] = await m.complete([
    { prompt: "x", maxTokens: 20, stop: [";"] },
    { prompt: "x", maxTokens: 20, stop: ["d|", "zz"] },
    { prompt: "x", maxTokens: 20 },
  ]);
  assert.deepEqual([one!.text, one!.completionTokens, one!.finishReason], ["ab", 3, "stop"]);
  assert.deepEqual([multi!.text, multi!.completionTokens, multi!.finishReason], ["ab;c", 6, "stop"]);
  assert.deepEqual([none!.text, none!.completionTokens, none!.finishReason], ["ab;cd|ef", 9, "stop"]);
  assert.deepEqual(
    fake.calls.map((c) => c.batch),
    [3],
  );
});

test("a checkpoint loads into a LocalModel that answers like the in-memory model", async () => {
  const dir = path.join(tempDir("bcr-local-"), "ck");
  saveCheckpoint(dir, { model: gpt, step: 5 });
  const loaded = await loadLocalModel(dir);
  assert.equal(loaded.name, `local:${dir}`);
  const req = [{ prompt: "3+4", maxTokens: 6, temperature: 0 }];
  assert.deepEqual(await loaded.complete(req), await new LocalModel({ model: gpt, tokenizer: tok }).complete(req));
  await assert.rejects(loadLocalModel(path.dirname(dir)), /not a checkpoint/);
});

test("an N-sweep runs on a tiny local model", async () => {
  // Compact prompts of 1-4 problems are 56 characters (COMPACT_MIN_COLUMNS): a wider window than gpt's 48.
  const wide = new GPT({ ...gpt.config, blockSize: 96 });
  const model = new LocalModel({ model: wide, tokenizer: tok, name: "tiny" });
  const problems = generateProblems(1, 8, [1, 2]);
  const out = tempDir("bcr-local-sweep-");
  const { rows, summary } = await sweepN({
    model,
    problems,
    ns: [1, 2],
    budget: parseBudget("per:4"),
    outDir: out,
    progress: false,
    bootstrapResamples: 100,
  });
  assert.equal(rows.length, 8 + 8 * 2);
  assert.ok(rows.every((r) => !r.failed && !r.tokensEstimated && r.groupTokens <= 4 * r.n));
  assert.deepEqual(
    summary.perN.map((s) => s.n),
    [1, 2],
  );
  assert.ok(model.stats.generateCalls < summary.asked, "groups were batched into generate calls");
  wide.dispose();
});
