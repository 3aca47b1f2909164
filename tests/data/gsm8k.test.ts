import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { answersOnlyResponse, packProblems, scoreResponse, type TemplateName } from "../../src/bcr/index.js";
import { loadGsm8k } from "../../src/data/index.js";
import { Rng } from "../../src/util/rng.js";

// The shared copy of GSM8K test, outside the repository; never copied in.
const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const FILE = path.resolve(repo, "../shared/datasets/gsm8k/test.jsonl");
const skip = fs.existsSync(FILE) ? false : `GSM8K test not found at ${FILE}; skipped`;

test("GSM8K test: 1319 problems with numeric golds", { skip }, () => {
  const ps = loadGsm8k(FILE);
  assert.equal(ps.length, 1319);
  assert.equal(ps[0]!.answer, "18");
  for (const p of ps) assert.match(p.answer, /^-?\d+(\.\d+)?$/, p.id);
});

test("GSM8K test: groups of N in {1,2,4,8} with the gold values written score 100%, in order or shuffled", {
  skip,
}, () => {
  const ps = loadGsm8k(FILE);
  // the raw final values as written in the file (with separators such as 1,450,000)
  const raw = fs
    .readFileSync(FILE, "utf8")
    .trim()
    .split("\n")
    .map((l) => (JSON.parse(l) as { answer: string }).answer.split("####").pop()!.trim());
  const rng = new Rng(11);
  for (const template of ["compact", "natural"] as TemplateName[]) {
    for (const n of [1, 2, 4, 8]) {
      let problems = 0;
      for (let i = 0; i + n <= ps.length; i += n) {
        const group = ps.slice(i, i + n);
        const packed = packProblems(group, { template });
        const values = raw.slice(i, i + n);
        for (const order of [undefined, rng.shuffle(values.map((_, k) => k))]) {
          const s = scoreResponse(answersOnlyResponse(values, template, order), packed.golds, { template });
          assert.equal(s.accuracy, 1, `${template} N=${n} group at ${i}`);
        }
        problems += n;
      }
      assert.ok(problems > 1300);
    }
  }
});
