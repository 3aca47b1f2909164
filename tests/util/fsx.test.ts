import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import * as zlib from "node:zlib";
import { readJsonl } from "../../src/util/fsx.js";
import { tempDir } from "../helpers/tmp.js";

const rows = [{ a: 1 }, { a: 2, b: "x" }];
const text = rows.map((r) => JSON.stringify(r)).join("\n") + "\n\n";

test("readJsonl reads .jsonl and, gunzipped by its extension, .jsonl.gz to the same rows", () => {
  const dir = tempDir("bcr-fsx-");
  fs.writeFileSync(path.join(dir, "rows.jsonl"), text);
  fs.writeFileSync(path.join(dir, "rows.jsonl.gz"), zlib.gzipSync(text));
  assert.deepEqual(readJsonl(path.join(dir, "rows.jsonl")), rows);
  assert.deepEqual(readJsonl(path.join(dir, "rows.jsonl.gz")), rows);
});

test("readJsonl on .jsonl.gz: a malformed line names the file and its line; a broken stream names the file", () => {
  const dir = tempDir("bcr-fsx-");
  const bad = path.join(dir, "bad.jsonl.gz");
  fs.writeFileSync(bad, zlib.gzipSync('{"a":1}\n\n{"a":\n'));
  assert.throws(
    () => readJsonl(bad),
    (e: Error) => e.message.startsWith(`${bad}:3: malformed JSON line`),
  );
  const broken = path.join(dir, "broken.jsonl.gz");
  fs.writeFileSync(broken, zlib.gzipSync(text).subarray(0, 12));
  assert.throws(
    () => readJsonl(broken),
    (e: Error) => e.message.startsWith(`${broken}: not a readable gzip file`),
  );
  // A plain file keeps its line numbers too.
  const plain = path.join(dir, "bad.jsonl");
  fs.writeFileSync(plain, '{"a":1}\nnope\n');
  assert.throws(
    () => readJsonl(plain),
    (e: Error) => e.message.startsWith(`${plain}:2: malformed JSON line`),
  );
});
