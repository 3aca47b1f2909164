import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { loadProblems } from "../../src/export/sources.js";

const gsm8k = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../../../shared/datasets/gsm8k/test.jsonl");

test("--source gsm8k reads a GSM8K file through the src/data loader", {
  skip: !fs.existsSync(gsm8k) && `no ${gsm8k}`,
}, async () => {
  const problems = await loadProblems({ source: "gsm8k", file: gsm8k, seed: 1 });
  assert.equal(problems.length, 1319);
  assert.equal(problems[0]!.answer, "18");
  await assert.rejects(loadProblems({ source: "math", seed: 1 }), /--source math needs --file/);
});
