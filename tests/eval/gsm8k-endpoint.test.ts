import { test } from "node:test";
import { tempDir } from "../helpers/tmp.js";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { initBackend } from "../../src/engine/backend.js";
import { GPT } from "../../src/model/gpt.js";
import { CharTokenizer } from "../../src/model/tokenizer.js";
import { OpenAIModel } from "../../src/eval/openai-client.js";
import { loadProblemsFile } from "../../src/data/problems-file.js";
import { parseBudget, sweepN } from "../../src/eval/sweep.js";
import { startModelServer } from "../../src/serve/model-server.js";

const GSM8K = path.resolve(import.meta.dirname, "../../../shared/datasets/gsm8k/test.jsonl");

test("GSM8K end to end: natural template, tiny char model behind the OpenAI-compatible server", {
  skip: !fs.existsSync(GSM8K) && "GSM8K test set not present",
}, async () => {
  await initBackend();
  // Printable ASCII + newline: enough for most GSM8K questions, but not for "’" (problem 0).
  const ascii = Array.from({ length: 95 }, (_, i) => String.fromCharCode(32 + i)).join("") + "\n";
  const tok = new CharTokenizer(ascii);
  const gpt = new GPT({
    vocabSize: tok.vocabSize,
    blockSize: 1024,
    nEmbd: 16,
    nLayer: 1,
    nHead: 2,
    dropout: 0,
    seed: 1,
  });
  const srv = await startModelServer({ model: gpt, tokenizer: tok, port: 0, name: "tiny-gsm8k" });
  try {
    const problems = loadProblemsFile(GSM8K, { limit: 4 });
    assert.equal(problems[0]!.answer, "18");
    const model = new OpenAIModel({ baseUrl: srv.baseUrl, env: {}, maxRetries: 1, initialDelayMs: 1 });
    const out = tempDir("bcr-gsm8k-");
    const { rows, summary } = await sweepN({
      model,
      problems,
      ns: [1, 2],
      budget: parseBudget("per:4"),
      template: "natural",
      maxGroups: 2,
      outDir: out,
      progress: false,
      bootstrapResamples: 100,
    });
    assert.equal(summary.model, "openai:tiny-gsm8k");
    assert.equal(rows.length, 2 + 2 * 2 * 2);
    // A group holding problem 0 is refused (400, unknown character) and recorded as failed,
    // without retries; every other group went through with exact token counts.
    for (const r of rows) {
      const group = rows.filter((x) => x.n === r.n && x.group === r.group);
      const hasBad = group.some((x) => x.problemId === "test-0");
      assert.equal(r.failed, hasBad, `row ${JSON.stringify(r)}`);
      if (hasBad) assert.match(r.error!, /HTTP 400.*U\+2019/);
      else {
        assert.equal(r.tokensEstimated, false);
        assert.ok(r.groupTokens >= 1 && r.groupTokens <= 4 * r.n);
      }
    }
    assert.equal(model.stats.retries, 0);
    assert.ok(rows.some((r) => r.failed) && rows.some((r) => !r.failed));
    assert.ok(fs.existsSync(path.join(out, "rows.csv")) && fs.existsSync(path.join(out, "summary.json")));
  } finally {
    await srv.close();
    gpt.dispose();
  }
});
