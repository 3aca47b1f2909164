import { test, before } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { command } from "../../src/cli/commands/diagnose.js";
import { UsageError } from "../../src/cli/command.js";
import { initBackend } from "../../src/engine/backend.js";
import { GPT } from "../../src/model/gpt.js";
import { CharTokenizer } from "../../src/model/tokenizer.js";
import { generateProblems } from "../../src/tasks/synthetic.js";
import { saveCheckpoint } from "../../src/run/checkpoint.js";
import { tempDir } from "../helpers/tmp.js";

let dir = "",
  model = "",
  problems = "";
before(async () => {
  await initBackend();
  dir = tempDir("bcr-diagnose-");
  model = path.join(dir, "model");
  const tok = new CharTokenizer();
  const gpt = new GPT({ vocabSize: tok.vocabSize, blockSize: 512, nEmbd: 8, nLayer: 1, nHead: 1, dropout: 0, seed: 1 });
  saveCheckpoint(model, { model: gpt, step: 0 });
  gpt.dispose();
  problems = path.join(dir, "problems.jsonl");
  fs.writeFileSync(
    problems,
    generateProblems(1, 8, [1], "t")
      .map((p) => JSON.stringify(p))
      .join("\n") + "\n",
  );
});

/** Run the command, returning what it printed on stdout. */
async function run(
  t: { mock: { method: (o: object, m: string, f: (...a: unknown[]) => void) => unknown } },
  argv: string[],
): Promise<string[]> {
  const lines: string[] = [];
  t.mock.method(console, "log", (l: unknown) => lines.push(String(l)));
  assert.equal(await command.run(argv), 0);
  return lines;
}

test("each model probe runs on a tiny model and prints its header and one line per row", async (t) => {
  const m = ["--model", model, "--problems", problems];
  const lookup = await run(t, ["packed-lookup", ...m, "--ns", "1,2", "--count", "4"]);
  assert.equal(lookup.length, 3);
  assert.match(lookup[0]!, /on 4 problems of .*problems\.jsonl, temperature 0$/);
  assert.match(lookup[2]!, /^N=2 {2}accuracy [\d.]+ {2}by position \S+ \S+ /);
  const loops = await run(t, ["loops-accuracy", ...m, "--count", "2", "--repeats", "1", "--budget", "8"]);
  assert.match(loops[0]!, /2 problems x 1 samples at temperature 1, N=1$/);
  assert.match(loops.at(-1)!, /^ {2}all {11}accuracy [\d.]+ {2}tokens [\d.]+$/);
  const later = await run(t, ["later-start", ...m, "--pairs", "2", "--loops", "0,3"]);
  assert.deepEqual(
    later.slice(1).map((l) => l.match(/with (\d+) re-checks/)![1]),
    ["0", "3"],
  );
  const ladder = await run(t, ["ladder", ...m, "--count", "3", "--budget", "12"]);
  assert.match(ladder[0]!, /on 3 problems of .*problems\.jsonl, temperature 0$/);
  assert.equal(ladder[1], "| form | how | responses | accuracy | tokens/problem | steps right |");
  // three forced forms and the free row, each over the 3 problems
  assert.deepEqual(
    ladder.slice(3, 7).map((l) =>
      l
        .split("|")
        .slice(1, 4)
        .map((c) => c.trim()),
    ),
    [
      ["essential", "forced", "3"],
      ["terse", "forced", "3"],
      ["shortcut", "forced", "3"],
      ["any", "free", "3"],
    ],
  );
});

test("usage errors name the probe or the flag; a missing or malformed problems file names the file and line", async () => {
  const m = ["--model", model, "--problems", problems];
  await assert.rejects(
    command.run([]),
    (e: Error) =>
      e instanceof UsageError &&
      /name a probe: packed-lookup, loops-accuracy, later-start, ladder, trace-styles/.test(e.message),
  );
  await assert.rejects(
    command.run(["lookup"]),
    (e: Error) => e instanceof UsageError && /unknown probe 'lookup'/.test(e.message),
  );
  await assert.rejects(
    command.run(["packed-lookup", "--problems", problems]),
    (e: Error) => e instanceof UsageError && /--model is required/.test(e.message),
  );
  await assert.rejects(
    command.run(["packed-lookup", ...m, "--ns", "1,0"]),
    (e: Error) => e instanceof UsageError && /--ns must be a comma list of integers >= 1, got '1,0'/.test(e.message),
  );
  await assert.rejects(
    command.run(["loops-accuracy", ...m, "--temperature", "-1"]),
    (e: Error) => e instanceof UsageError && /--temperature/.test(e.message),
  );
  await assert.rejects(
    command.run(["later-start", ...m, "--loops", "x"]),
    (e: Error) => e instanceof UsageError && /--loops/.test(e.message),
  );
  await assert.rejects(
    command.run(["packed-lookup", ...m, "--runs", "x"]),
    (e: Error) => e instanceof UsageError && /runs/.test(e.message),
    "another probe's flag",
  );
  await assert.rejects(
    command.run(["trace-styles", "--runs", dir, "--which", "all"]),
    (e: Error) => e instanceof UsageError && /--which must be sweep or n1/.test(e.message),
  );
  await assert.rejects(command.run(["later-start", ...m, "--pairs", "5"]), /need 10 problems for 5 pairs, found 8/);
  await assert.rejects(
    command.run(["packed-lookup", "--model", model, "--problems", path.join(dir, "none.jsonl")]),
    /none\.jsonl: no such problems file/,
  );
  const bad = path.join(dir, "bad.jsonl");
  fs.writeFileSync(bad, '{"id":"a","question":"1+1","answer":"2"}\n{"id":"b","question":3}\n');
  await assert.rejects(command.run(["packed-lookup", "--model", model, "--problems", bad]), (e: Error) =>
    e.message.includes(`${bad}:2`),
  );
  await assert.rejects(command.run(["trace-styles", "--runs", dir]), (e: Error) =>
    e.message.includes(path.join(dir, "eval")),
  );
});
