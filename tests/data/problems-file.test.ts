import { test } from "node:test";
import { tempDir } from "../helpers/tmp.js";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { loadMathProblems } from "../../src/data/index.js";
import { loadProblemsFile } from "../../src/data/problems-file.js";
import { loadProblems } from "../../src/export/sources.js";

function write(name: string, text: string): string {
  const f = path.join(tempDir("bcr-problems-"), name);
  fs.writeFileSync(f, text);
  return f;
}

const line = (o: unknown) => JSON.stringify(o);

/** The message of what `fn` throws (fails the test when it does not throw). */
function errorOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    return (e as Error).message;
  }
  assert.fail("expected an error");
}

test("both forms, one reader: problems (string or number answers) and GSM8K records; ids by record index", async () => {
  const f = write(
    "mixed.jsonl",
    [
      line({ id: "p1", question: "What is 2+3?", answer: "5", difficulty: 2 }),
      "",
      line({ question: "How many?", answer: "3 + 4 = <<3+4=7>>7 then <<7*2=14>>14\n#### 1,014" }),
      line({ question: "A number answer?", answer: 12, difficulty: "hard" }),
      line({ id: "kept", question: "Literal?", answer: "x #### 3" }),
    ].join("\n") + "\n",
  );
  const want = [
    { id: "p1", question: "What is 2+3?", answer: "5", difficulty: 2 },
    // GSM8K: gold after ####, separators removed; difficulty = calculator annotations
    { id: "mixed-1", question: "How many?", answer: "1014", difficulty: 2 },
    // a number answer is its decimal string; a non-number difficulty is ignored
    { id: "mixed-2", question: "A number answer?", answer: "12" },
    // a record with a string id is a problem: its answer is taken whole
    { id: "kept", question: "Literal?", answer: "x #### 3" },
  ];
  assert.deepEqual(loadProblemsFile(f), want);
  assert.deepEqual(loadProblemsFile(f, { limit: 2 }), want.slice(0, 2));
  // export-dataset --source problems reads the same file the same way
  assert.deepEqual(await loadProblems({ source: "problems", file: f, seed: 0 }), want);
  // a JSON array gives the same problems
  const arr = write(
    "mixed.json",
    JSON.stringify(
      fs
        .readFileSync(f, "utf8")
        .split("\n")
        .filter((l) => l)
        .map((l) => JSON.parse(l)),
      null,
      2,
    ),
  );
  assert.deepEqual(
    loadProblemsFile(arr).map((p) => p.answer),
    want.map((p) => p.answer),
  );
});

test("errors name the file and the line of the original file, not the record index after blank lines", () => {
  const ok = line({ question: "Q", answer: "1" });
  // record 4 of the file sits on line 7: blank lines (one of them with spaces and a CR) before it
  const f = write("gaps.jsonl", [ok, "", ok, "  \r", ok, "", line({ question: "Q" }), ok].join("\n"));
  const m = errorOf(() => loadProblemsFile(f));
  assert.ok(m.startsWith(`${f}:7: `), m);
  assert.match(m, /field "answer"/);
  const bad = write("gaps.jsonl", [ok, "", "", "{not json", ok].join("\n"));
  assert.ok(errorOf(() => loadProblemsFile(bad)).startsWith(`${bad}:4: malformed JSON`));
  const notObject = write("arr.jsonl", [ok, "", "[1, 2]"].join("\n"));
  assert.ok(errorOf(() => loadProblemsFile(notObject)).startsWith(`${notObject}:3: expected a JSON object`));
  // the same through export-dataset's source (it said "record 3" before)
  return assert.rejects(loadProblems({ source: "problems", file: f, seed: 0 }), (e: Error) =>
    e.message.startsWith(`${f}:7: `),
  );
});

test("a JSON array: an error names the line the bad element starts on", () => {
  const text = `[
  {"question": "a, [b] {c} \\"quoted\\"", "answer": "1"},

  {"question": "multi",
   "answer": "2"},
  {"question": "no answer"}
]`;
  const f = write("arr.json", text);
  const m = errorOf(() => loadProblemsFile(f));
  assert.ok(m.startsWith(`${f}:6: `), m);
  const broken = write("broken.json", `[\n  {"question": "a", "answer": "1"},\n  {"question": "b" "answer": "2"}\n]`);
  const b = errorOf(() => loadProblemsFile(broken));
  assert.ok(b.startsWith(`${broken}:3: malformed JSON array`), b); // from the parser's "at position N"
});

test("an empty or blank problems file is an error naming the file (every problem reader)", async () => {
  for (const text of ["", "\n\n  \n"]) {
    const f = write("empty.jsonl", text);
    const named = (e: Error) => e.message.startsWith(`${f}: no records`);
    assert.throws(() => loadProblemsFile(f), named);
    assert.throws(() => loadMathProblems(f), named);
    await assert.rejects(loadProblems({ source: "problems", file: f, seed: 0 }), named);
    await assert.rejects(loadProblems({ source: "gsm8k", file: f, seed: 0 }), named);
  }
  assert.throws(
    () => loadProblemsFile(path.join(tempDir("bcr-problems-"), "missing.jsonl")),
    /missing\.jsonl: cannot read/,
  );
});
