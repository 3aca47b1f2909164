import { test } from "node:test";
import { tempDir } from "../helpers/tmp.js";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { gsm8kFinal, lastBoxed, loadGsm8k, loadMath, loadMathProblems } from "../../src/data/index.js";

function tmpFile(name: string, lines: string[]): string {
  const dir = tempDir("bcr-data-");
  const f = path.join(dir, name);
  fs.writeFileSync(f, lines.join("\n") + "\n");
  return f;
}

test("GSM8K records: the value after #### is the gold, separators removed", () => {
  const f = tmpFile("gsm.jsonl", [
    JSON.stringify({ question: "Q1?", answer: "2+2=<<2+2=4>>4\n#### 4" }),
    "",
    JSON.stringify({ question: "Q2?", answer: "big\n#### 1,450,000" }),
  ]);
  assert.deepEqual(loadGsm8k(f), [
    { id: "gsm-1", question: "Q1?", answer: "4" },
    { id: "gsm-3", question: "Q2?", answer: "1450000" },
  ]);
  assert.equal(gsm8kFinal("x #### -3"), "-3");
  assert.equal(gsm8kFinal("no marker"), null);
});

test("MATH records: answer field, else the last boxed in the solution; level and unique_id kept", () => {
  const f = tmpFile("math.jsonl", [
    JSON.stringify({ problem: "P1", solution: "so \\boxed{1} then \\boxed{\\frac{1}{2}}", level: "Level 3" }),
    JSON.stringify({ problem: "P2", solution: "...", answer: "\\pi", level: 5, unique_id: "test/x/1.json" }),
  ]);
  assert.deepEqual(loadMath(f), [
    { id: "math-1", question: "P1", answer: "\\frac{1}{2}", difficulty: 3 },
    { id: "test/x/1.json", question: "P2", answer: "\\pi", difficulty: 5 },
  ]);
  assert.equal(lastBoxed("\\boxed{a{b}}"), "a{b}");
  assert.equal(lastBoxed("\\boxed{a"), null);
  assert.equal(loadMathProblems(f).length, 2); // auto-detected
});

test("malformed lines name the file and the 1-based line", () => {
  const ok = JSON.stringify({ question: "Q", answer: "#### 1" });
  const bad = (lines: string[], re: RegExp) => {
    const f = tmpFile("bad.jsonl", lines);
    assert.throws(
      () => loadMathProblems(f),
      (e: Error) => e.message.startsWith(`${f}:`) && re.test(e.message),
    );
  };
  bad([ok, "{not json"], /bad\.jsonl:2: malformed JSON/);
  bad([ok, ok, JSON.stringify({ question: "Q", answer: "no final" })], /:3: GSM8K answer has no final value/);
  bad([JSON.stringify({ question: 5, answer: "#### 1" })], /:1: field 'question'/);
  bad([JSON.stringify({ problem: "P", solution: "none" })], /:1: MATH record has no 'answer'/);
  bad([JSON.stringify([1])], /:1: expected a JSON object/);
  bad([JSON.stringify({ foo: 1 })], /:1: neither GSM8K/);
});
