/**
 * `npm test` runs `biome ci` (scripts/test.mjs) with the repository's biome.json: show that this
 * configuration fails a file that is not formatted, and a file with a lint error, and passes a
 * clean one, so a green run means the tree is formatted and lint-free.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { tempDir } from "./helpers/tmp.js";

const biome = path.resolve("node_modules/@biomejs/biome/bin/biome");

function check(source: string): { status: number | null; out: string } {
  const dir = tempDir("bcr-lint-");
  try {
    const config = JSON.parse(fs.readFileSync("biome.json", "utf8"));
    config.$schema = undefined;
    config.files = { includes: ["src/**"] };
    fs.writeFileSync(path.join(dir, "biome.json"), JSON.stringify(config));
    // biome checks its own configuration file too: write it as biome formats it
    spawnSync(process.execPath, [biome, "format", "--write", "biome.json"], { cwd: dir });
    fs.mkdirSync(path.join(dir, "src"));
    fs.writeFileSync(path.join(dir, "src", "x.ts"), source);
    const r = spawnSync(process.execPath, [biome, "ci", "--colors=off", "."], { cwd: dir, encoding: "utf8" });
    return { status: r.status, out: r.stdout + r.stderr };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

test("biome ci with the repository's configuration: a clean file passes, a misformatted one and a lint error fail", () => {
  const clean = check('export const greeting = "hello";\n');
  assert.equal(clean.status, 0, clean.out);
  const misformatted = check("export const greeting = 'hello'\n");
  assert.notEqual(misformatted.status, 0);
  assert.match(misformatted.out, /format/i);
  const lintError = check("export function f(): number {\n  let x;\n  x = 1;\n  return x;\n}\n");
  assert.notEqual(lintError.status, 0);
  assert.match(lintError.out, /noImplicitAnyLet/);
});
