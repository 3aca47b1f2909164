// docs/architecture.md stays a true map: it names every folder of src/, and its metric table
// lists exactly the metric keys the trainers log (src/train/, src/rl/).
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const doc = fs.readFileSync(path.join(root, "docs/architecture.md"), "utf8");

/** `group/name` string literals in the .ts files of some src/ folders: the metric keys they log. */
function loggedMetricKeys(folders: string[]): Set<string> {
  const keys = new Set<string>();
  for (const folder of folders) {
    const dir = path.join(root, "src", folder);
    for (const f of fs.readdirSync(dir).filter((x) => x.endsWith(".ts"))) {
      const text = fs.readFileSync(path.join(dir, f), "utf8");
      for (const m of text.matchAll(/"([a-z]+\/[a-z0-9_]+)"/g)) keys.add(m[1]!);
    }
  }
  return keys;
}

/** The keys in the doc's "Metric names" table (first column, each key in backticks). */
function documentedMetricKeys(text: string): Set<string> {
  const section = text.split(/^## Metric names$/m)[1]?.split(/^## /m)[0] ?? "";
  const keys = new Set<string>();
  for (const line of section.split("\n").filter((l) => l.startsWith("| `"))) {
    const firstCell = line.split("|")[1]!;
    for (const m of firstCell.matchAll(/`([a-z]+\/[a-z0-9_]+)`/g)) keys.add(m[1]!);
  }
  return keys;
}

test("docs/architecture.md names every folder of src/ as `src/<folder>/`", () => {
  const folders = fs
    .readdirSync(path.join(root, "src"), { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .map((e) => e.name);
  assert.ok(folders.length >= 15, `src/ has ${folders.length} folders`);
  const missing = folders.filter((f) => !doc.includes(`\`src/${f}/\``));
  assert.deepEqual(missing, [], "add these folders (with their one job) to docs/architecture.md");
});

test("the metric table lists every key the trainers log, and no key they no longer log", () => {
  const logged = loggedMetricKeys(["train", "rl"]);
  const documented = documentedMetricKeys(doc);
  assert.ok(logged.has("reward/accuracy") && logged.has("train/loss"), "the scan finds the trainers' keys");
  assert.deepEqual([...logged].filter((k) => !documented.has(k)).sort(), [], "logged but not in docs/architecture.md");
  assert.deepEqual(
    [...documented].filter((k) => !logged.has(k)).sort(),
    [],
    "in docs/architecture.md but logged nowhere",
  );
});

test("the doc-table reader takes keys from the first column only", () => {
  const text = "## Metric names\n| key | by |\n| `a/b`, `c/d` | `x/y` |\n## Next\n| `e/f` | |";
  assert.deepEqual([...documentedMetricKeys(text)], ["a/b", "c/d"]);
});

test("docs/CONTRACTS.md is gone and nothing points at it", () => {
  assert.equal(fs.existsSync(path.join(root, "docs/CONTRACTS.md")), false);
  const hits: string[] = [];
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      if (["node_modules", ".git", "dist", "runs"].includes(e.name)) continue;
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (/\.(ts|mjs|py|md)$/.test(e.name) && fs.readFileSync(p, "utf8").includes("docs/CONTRACTS.md"))
        hits.push(path.relative(root, p));
    }
  };
  for (const d of ["src", "bench", "scripts", "docs", "notebooks"]) walk(path.join(root, d));
  if (fs.readFileSync(path.join(root, "README.md"), "utf8").includes("docs/CONTRACTS.md")) hits.push("README.md");
  assert.deepEqual(hits, []);
});
