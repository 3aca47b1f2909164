import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { experimentOf, findFiles, need, optional, readRecords } from "../../src/frame/read.js";
import { tempDir } from "../helpers/tmp.js";

const FIX = path.join(path.dirname(fileURLToPath(import.meta.url)), "fixtures");

test("readRecords: JSONL, gzipped JSONL (by magic bytes), a JSON object and a JSON array, each record with its place", async () => {
  const plain = await readRecords(path.join(FIX, "samples/rows.jsonl"));
  const gz = await readRecords(path.join(FIX, "samples/rows.jsonl.gz"));
  assert.equal(plain.length, 3);
  assert.deepEqual(
    gz.map((r) => r.value),
    plain.map((r) => r.value),
  );
  assert.equal(plain[1]!.where, `${path.join(FIX, "samples/rows.jsonl")}:2`);
  const dir = tempDir("bcr-frame-read-");
  fs.writeFileSync(path.join(dir, "one.json"), JSON.stringify({ a: 1 }));
  fs.writeFileSync(path.join(dir, "many.json.gz"), gzipSync(JSON.stringify([{ a: 1 }, { a: 2 }])));
  fs.writeFileSync(path.join(dir, "blank.jsonl"), '\n{"a":1}\n\n{"a":2}\n');
  assert.deepEqual(await readRecords(path.join(dir, "one.json")), [
    { where: path.join(dir, "one.json"), value: { a: 1 } },
  ]);
  assert.deepEqual(
    (await readRecords(path.join(dir, "many.json.gz"))).map((r) => r.where),
    [`${path.join(dir, "many.json.gz")}[0]`, `${path.join(dir, "many.json.gz")}[1]`],
  );
  assert.deepEqual(
    (await readRecords(path.join(dir, "blank.jsonl"))).map((r) => r.where.split(":").at(-1)),
    ["2", "4"],
    "blank lines skipped, line numbers kept",
  );
});

test("readRecords: errors name the file and line", async () => {
  const dir = tempDir("bcr-frame-read-");
  await assert.rejects(readRecords(path.join(FIX, "bad/not-json.jsonl")), /bad\/not-json\.jsonl:2: not JSON/);
  fs.writeFileSync(path.join(dir, "arr.jsonl"), '{"a":1}\n[1,2]\n');
  await assert.rejects(readRecords(path.join(dir, "arr.jsonl")), /arr\.jsonl:2: expected a JSON object, got an array/);
  fs.writeFileSync(path.join(dir, "num.json"), "3");
  await assert.rejects(readRecords(path.join(dir, "num.json")), /num\.json: expected a JSON object or an array/);
  fs.writeFileSync(path.join(dir, "broken.jsonl.gz"), Buffer.from([0x1f, 0x8b, 1, 2, 3]));
  await assert.rejects(readRecords(path.join(dir, "broken.jsonl.gz")), /broken\.jsonl\.gz: not a readable gzip file/);
});

test("need and optional: present and typed, or an error naming where and the column", () => {
  const o = { a: 1, b: "x", c: null, d: true };
  assert.equal(need(o, "a", "number", "f:1"), 1);
  assert.throws(() => need(o, "z", "number", "f:1"), /^Error: f:1: column "z" is missing$/);
  assert.throws(() => need(o, "b", "number", "f:1"), /f:1: "b" should be a number, got string "x"/);
  assert.equal(optional(o, "c", "number", "f:1", 7), 7);
  assert.equal(optional(o, "z", "string", "f:1", null), null);
  assert.throws(() => optional(o, "d", "string", "f:1", null), /"d" should be a string, got boolean true/);
  assert.throws(() => need({ n: Number.NaN }, "n", "number", "f:1"), /"n" should be a number/);
});

test("experimentOf: the folder before the layout's marker, or the file's folder, or 'default'", () => {
  assert.equal(experimentOf("/r", "/r/eval-rows.jsonl.gz"), "default");
  assert.equal(experimentOf("/r", "/r/essential/eval-rows.jsonl.gz"), "essential");
  assert.equal(experimentOf("/runs", "/runs/reproduce/eval/bcr/seed-1/eval.json", "eval"), "reproduce");
  assert.equal(experimentOf("/runs/reproduce", "/runs/reproduce/eval/sft/eval.json", "eval"), "default");
  assert.equal(experimentOf("/runs", "/runs/notebooks/tiny/rl/bcr/seed-0/metrics.jsonl", "rl"), "notebooks/tiny");
  assert.equal(experimentOf("/x", "/x/bcr/seed-0/metrics.jsonl", "rl"), "default", "no marker: the folder given");
});

test("findFiles: sorted, skipping node_modules, checkpoints and hidden folders", () => {
  const dir = tempDir("bcr-frame-find-");
  for (const p of [
    "b/eval.json",
    "a/eval.json",
    "node_modules/x/eval.json",
    ".git/eval.json",
    "c/checkpoints/eval.json",
  ]) {
    fs.mkdirSync(path.dirname(path.join(dir, p)), { recursive: true });
    fs.writeFileSync(path.join(dir, p), "{}");
  }
  assert.deepEqual(
    findFiles(dir, (n) => n === "eval.json").map((f) => path.relative(dir, f)),
    ["a/eval.json", "b/eval.json"],
  );
});
