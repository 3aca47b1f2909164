import { test } from "node:test";
import { tempDir } from "../helpers/tmp.js";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { z } from "zod";
import {
  ConfigError,
  applyOverrides,
  deepMerge,
  describeSchema,
  formatSchemaHelp,
  loadConfig,
  jsonPositions,
  locateJsonError,
  parseConfig,
  resolveConfig,
} from "../../src/util/config.js";

const Schema = z.strictObject({
  name: z.string().default("run").describe("run name"),
  optim: z
    .strictObject({
      lr: z.number().positive().default(1e-3).describe("learning rate"),
      betas: z.tuple([z.number(), z.number()]).default([0.9, 0.95]).describe("Adam betas"),
      kind: z.enum(["adamw", "sgd"]).default("adamw").describe("optimizer"),
    })
    .prefault({}),
});

function write(text: string): string {
  const dir = tempDir("bcr-cfg-");
  const file = path.join(dir, "x.json");
  fs.writeFileSync(file, text);
  return file;
}

test("defaults fill missing fields; a valid file loads", () => {
  assert.deepEqual(parseConfig({}, Schema, "t"), {
    name: "run",
    optim: { lr: 1e-3, betas: [0.9, 0.95], kind: "adamw" },
  });
  const file = write(`{"optim": {"lr": 0.01}}`);
  assert.equal(loadConfig(file, Schema).optim.lr, 0.01);
});

test("wrong type names the file, the field path and both types", () => {
  const file = write(`{"optim": {"lr": "fast"}}`);
  assert.throws(
    () => loadConfig(file, Schema),
    (e: Error) => e instanceof ConfigError && e.message === `${file}:1:12: field optim.lr: expected number, got string`,
  );
  assert.throws(() => parseConfig({ optim: { betas: [0.9] } }, Schema, "c.json"), /c\.json: field optim\.betas/);
  assert.throws(
    () => parseConfig({ optim: { kind: "adam" } }, Schema, "c.json"),
    /c\.json: field optim\.kind: expected one of "adamw" \| "sgd", got "adam"/,
  );
  assert.throws(() => parseConfig({ optim: { lr: -1 } }, Schema, "c.json"), /c\.json: field optim\.lr: /);
});

test("unknown fields are rejected at any depth", () => {
  assert.throws(
    () => parseConfig({ optim: { learningRate: 1 } }, Schema, "c.json"),
    /c\.json: unknown field optim\.learningRate/,
  );
  assert.throws(() => parseConfig({ nmae: "x" }, Schema, "c.json"), /c\.json: unknown field nmae/);
});

test("a JSON syntax error names line and column", () => {
  const file = write(`{\n  "name": "a",\n  "optim": {"lr": 0.1,}\n}\n`);
  assert.throws(
    () => loadConfig(file, Schema),
    (e: Error) => e.message.startsWith(`${file}:3:23: invalid JSON`),
  );
  assert.equal(locateJsonError(`{"a": tru}`), 6);
  assert.equal(locateJsonError(`[1 2]`), 3);
  assert.equal(locateJsonError(`{"a": 1`), 7);
  assert.equal(locateJsonError(`{"a": [1, {"b": "x\\q"}]}`), 19);
  assert.throws(() => loadConfig(path.join(os.tmpdir(), "no-such-bcr.json"), Schema), /cannot read config/);
});

test("--set overrides parse JSON values, fall back to strings and are validated", () => {
  const file = write(`{"optim": {"lr": 0.01}}`);
  const cfg = loadConfig(file, Schema, ["optim.lr=0.5", "name=exp1", "optim.betas=[0.8,0.9]"]);
  assert.deepEqual(cfg, { name: "exp1", optim: { lr: 0.5, betas: [0.8, 0.9], kind: "adamw" } });
  assert.throws(
    () => loadConfig(file, Schema, ["optim.lr=abc"]),
    (e: Error) => e.message === "--set optim.lr: expected number, got string",
  );
  assert.throws(() => loadConfig(file, Schema, ["optim.lrr=1"]), /unknown field optim\.lrr/);
  assert.throws(() => applyOverrides({}, ["noequals"]), /expected key\.path=value/);
  assert.throws(() => applyOverrides({ name: "x" }, ["name.sub=1"]), /field name is not an object/);
  assert.equal(resolveConfig(undefined, Schema, ["optim.kind=sgd"]).optim.kind, "sgd");
  assert.deepEqual(applyOverrides({ a: 1 }, ['s="3"']), { a: 1, s: "3" }); // quoted: stays a string
});

test("describeSchema lists every leaf with type, default and description", () => {
  const docs = describeSchema(Schema);
  assert.deepEqual(
    docs.map((d) => d.path),
    ["name", "optim.lr", "optim.betas", "optim.kind"],
  );
  assert.deepEqual(docs[1], { path: "optim.lr", type: "number", default: "0.001", description: "learning rate" });
  assert.equal(docs[2]!.type, "[number, number]");
  assert.equal(docs[3]!.type, `"adamw" | "sgd"`);
  assert.match(formatSchemaHelp(Schema), /optim\.lr \(number\) = 0\.001\s+learning rate/);
});

// ---------------------------------------------------------------------------------------------
// extends

function writeIn(dir: string, name: string, text: string): string {
  const file = path.join(dir, name);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, text);
  return file;
}

test("extends: the variant's fields deep-merge over its base, arrays replace, the chain is followed", () => {
  const dir = tempDir("bcr-cfg-ext-");
  writeIn(dir, "base.json", `{"name": "base", "optim": {"lr": 0.01, "betas": [0.8, 0.9]}}`);
  writeIn(dir, "mid/mid.json", `{"extends": "../base.json", "optim": {"kind": "sgd"}}`);
  const leaf = writeIn(dir, "leaf.json", `{"extends": "mid/mid.json", "optim": {"betas": [0.5, 0.6]}}`);
  assert.deepEqual(loadConfig(leaf, Schema), { name: "base", optim: { lr: 0.01, betas: [0.5, 0.6], kind: "sgd" } });
  // --set applies to the resolved config
  assert.equal(loadConfig(leaf, Schema, ["optim.lr=0.5"]).optim.lr, 0.5);
  // deepMerge leaves its inputs alone
  const base = { a: { b: 1 } };
  assert.deepEqual(deepMerge(base, { a: { c: 2 } }), { a: { b: 1, c: 2 } });
  assert.deepEqual(base, { a: { b: 1 } });
  // what src/reproduce/rl.ts relies on (a method's settings over rl.base): arrays and values replace
  assert.deepEqual(deepMerge({ l: [1, 2], o: { x: 1, l: [1] }, v: 1 }, { l: [3], o: { l: [] }, v: null }), {
    l: [3],
    o: { x: 1, l: [] },
    v: null,
  });
});

test("extends: unset removes a field of the base so the schema's absent value applies", () => {
  const Opt = z.strictObject({ a: z.number().default(1), b: z.enum(["x", "y"]).optional() });
  const dir = tempDir("bcr-cfg-unset-");
  writeIn(dir, "base.json", `{"a": 2, "b": "y"}`);
  const v = writeIn(dir, "v.json", `{"extends": "base.json", "unset": ["b"]}`);
  assert.deepEqual(loadConfig(v, Opt), { a: 2 });
  const bad = writeIn(dir, "bad.json", `{"extends": "base.json", "unset": ["c.d"]}`);
  assert.throws(
    () => loadConfig(bad, Opt),
    (e: Error) => e instanceof ConfigError && e.message === `${bad}: field unset: c.d is not set in base.json`,
  );
  const alone = writeIn(dir, "alone.json", `{"unset": ["b"]}`);
  assert.throws(() => loadConfig(alone, Opt), /alone\.json: field unset: only allowed beside extends/);
});

test("extends: a missing base, a wrong type and a cycle name the file", () => {
  const dir = tempDir("bcr-cfg-bad-");
  const missing = writeIn(dir, "m.json", `{"extends": "nope.json"}`);
  assert.throws(() => loadConfig(missing, Schema), /nope\.json: cannot read config/);
  const typed = writeIn(dir, "t.json", `{"extends": 3}`);
  assert.throws(
    () => loadConfig(typed, Schema),
    (e: Error) => e.message === `${typed}: field extends: expected a file name (string), got number`,
  );
  writeIn(dir, "a.json", `{"extends": "b.json"}`);
  const b = writeIn(dir, "b.json", `{"extends": "a.json"}`);
  assert.throws(() => loadConfig(b, Schema), /extends cycle: .*b\.json -> .*a\.json -> .*b\.json/);
  // a schema error in the merged result names the file that was loaded
  const wrong = writeIn(dir, "w.json", `{"extends": "base.json", "optim": {"lr": "x"}}`);
  writeIn(dir, "base.json", `{}`);
  assert.throws(
    () => loadConfig(wrong, Schema),
    (e: Error) => e.message === `${wrong}:1:36: field optim.lr: expected number, got string`,
  );
});

// ---------------------------------------------------------------------------------------------
// issue 28.4: absolute extends, and where a field was set

test("extends: an absolute path is used as is, not joined to the config's folder", () => {
  const dir = tempDir("bcr-cfg-abs-");
  const base = writeIn(dir, "shared/base.json", `{"name": "from-base", "optim": {"lr": 0.02}}`);
  assert.ok(path.isAbsolute(base));
  const leaf = writeIn(dir, "variants/leaf.json", JSON.stringify({ extends: base, optim: { kind: "sgd" } }));
  assert.deepEqual(loadConfig(leaf, Schema), {
    name: "from-base",
    optim: { lr: 0.02, betas: [0.9, 0.95], kind: "sgd" },
  });
  // relative stays relative to the file's folder
  const rel = writeIn(dir, "variants/rel.json", `{"extends": "../shared/base.json"}`);
  assert.equal(loadConfig(rel, Schema).name, "from-base");
});

test("jsonPositions: the offset of every key and array element by path, escapes and nesting included", () => {
  const text = `{\n  "a": {"b\\"q": [1, {"c": null}], "d": "x}"},\n  "e": -1.5e3, "a": {"z": true}\n}`;
  const pos = jsonPositions(text);
  const at = (p: (string | number)[]) => pos.get(JSON.stringify(p));
  assert.equal(text.slice(at(["e"])!, at(["e"])! + 3), '"e"');
  assert.equal(text.slice(at(["a", 'b"q'])!, at(["a", 'b"q'])! + 6), '"b\\"q"');
  assert.equal(text[at(["a", 'b"q', 0])!], "1");
  assert.equal(text[at(["a", 'b"q', 1])!], "{");
  assert.equal(text.slice(at(["a", 'b"q', 1, "c"])!, at(["a", 'b"q', 1, "c"])! + 3), '"c"');
  assert.equal(text.slice(at(["a", "d"])!, at(["a", "d"])! + 3), '"d"');
  assert.equal(at(["a"]), text.lastIndexOf('"a"'), "a repeated key: the last one, as JSON.parse keeps");
});

test("a config type error names the file and line:column of the field's key; through extends, the file that set it", () => {
  const dir = tempDir("bcr-cfg-where-");
  const base = writeIn(
    dir,
    "base.json",
    ["{", '  "name": "base",', '  "optim": {', '    "lr": "fast",', '    "betas": [0.9, "x"]', "  }", "}", ""].join(
      "\n",
    ),
  );
  const leaf = writeIn(
    dir,
    "sub/leaf.json",
    ["{", '  "extends": "../base.json",', '  "optim": {', '    "kind": "adam"', "  },", '  "nmae": 1', "}", ""].join(
      "\n",
    ),
  );
  let message = "";
  try {
    loadConfig(leaf, Schema);
  } catch (e) {
    message = (e as Error).message;
  }
  const lines = message.split("\n").sort();
  assert.deepEqual(
    lines,
    [
      `${base}:4:5: field optim.lr: expected number, got string`,
      `${base}:5:20: field optim.betas[1]: expected number, got string`,
      `${leaf}:4:5: field optim.kind: expected one of "adamw" | "sgd", got "adam"`,
      `${leaf}:6:3: unknown field nmae`,
    ].sort(),
  );
  // The leaf sets the field over its base: the leaf is named
  const fixed = writeIn(
    dir,
    "sub/fixed.json",
    `{"extends": "../base.json",\n "optim": {"lr": "slow", "betas": [1, 2]}}`,
  );
  assert.throws(
    () => loadConfig(fixed, Schema),
    (e: Error) => e.message === `${fixed}:2:12: field optim.lr: expected number, got string`,
  );
  // An array replaced by the leaf: its elements are the leaf's
  const arr = writeIn(dir, "sub/arr.json", `{"extends": "../base.json", "optim": {"lr": 1, "betas": [1, "y"]}}`);
  assert.throws(
    () => loadConfig(arr, Schema),
    (e: Error) => e.message === `${arr}:1:61: field optim.betas[1]: expected number, got string`,
  );
});

test("a field set by --set is named by its override, not by a line; a missing field by its enclosing object", () => {
  const dir = tempDir("bcr-cfg-set-");
  const file = writeIn(dir, "x.json", `{\n  "optim": {"lr": 0.1}\n}\n`);
  assert.throws(
    () => loadConfig(file, Schema, ["optim.lr=abc"]),
    (e: Error) => e.message === "--set optim.lr: expected number, got string",
  );
  assert.throws(
    () => loadConfig(file, Schema, ['optim={"lr": "x"}']),
    (e: Error) => e.message === "--set optim: field optim.lr: expected number, got string",
  );
  assert.throws(
    () => loadConfig(file, Schema, ["optim.lrr=1"]),
    (e: Error) => e.message === "--set optim.lrr: unknown field optim.lrr",
  );
  assert.throws(
    () => resolveConfig(undefined, Schema, ["optim.kind=adam"]),
    (e: Error) => e.message === '--set optim.kind: expected one of "adamw" | "sgd", got "adam"',
  );
  // a --set value over a field the file set: the override is named
  const bad = writeIn(dir, "bad.json", `{"optim": {"lr": "x"}}`);
  assert.equal(loadConfig(bad, Schema, ["optim.lr=0.5"]).optim.lr, 0.5);
  // a required field that is missing: the nearest enclosing object that was set, else the file
  const Req = z.strictObject({ run: z.strictObject({ steps: z.number() }), top: z.string() });
  const req = writeIn(dir, "req.json", `{\n  "run": {}\n}`);
  let message = "";
  try {
    loadConfig(req, Req);
  } catch (e) {
    message = (e as Error).message;
  }
  assert.deepEqual(
    message.split("\n").sort(),
    [
      `${req}:2:3: field run.steps: expected number, got nothing (missing)`,
      `${req}: field top: expected string, got nothing (missing)`,
    ].sort(),
  );
});
