#!/usr/bin/env node
// Runs the formatter check and the linter (Biome, biome.json: `biome ci`), then every
// tests/**/*.test.ts with node's built-in test runner (through tsx), prints the spec report, then a
// closing "N passed, N failed, N skipped" line. Extra arguments filter test files by substring and
// skip the Biome check: `npm test -- bcr/extract`. `npx biome check --write .` fixes what it can.
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), "..");
const filters = process.argv.slice(2);

function findTests(dir) {
  const out = [];
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...findTests(p));
    else if (entry.name.endsWith(".test.ts")) out.push(p);
  }
  return out;
}

const files = findTests(path.join(root, "tests"))
  .map((f) => path.relative(root, f))
  .filter((f) => filters.length === 0 || filters.some((s) => f.includes(s)))
  .sort();
if (files.length === 0) {
  console.error(`no test files matched ${filters.join(" ") || "tests/**/*.test.ts"}`);
  process.exit(1);
}

// Formatting and lint first: one line when clean, Biome's diagnostics when not. The tests run
// either way, so one CI run reports both.
let biomeOk = true;
if (filters.length === 0) {
  const biome = spawnSync(
    process.execPath,
    [path.join(root, "node_modules/@biomejs/biome/bin/biome"), "ci", "--colors=off", "."],
    {
      cwd: root,
      encoding: "utf8",
    },
  );
  biomeOk = biome.status === 0;
  const summary = (biome.stdout + biome.stderr)
    .split("\n")
    .filter((l) => /^(Checked|Found) /.test(l))
    .join("; ");
  if (biomeOk) console.log(`biome ci: clean (${summary})`);
  else console.log(`biome ci: FAILED (${summary || `exit ${biome.status}`})\n${biome.stdout}${biome.stderr}`);
}

const tapFile = path.join(os.tmpdir(), `bcr-tests-${process.pid}.tap`);
const res = spawnSync(
  process.execPath,
  [
    "--import",
    "tsx",
    "--test",
    "--test-concurrency=2",
    "--test-reporter=spec",
    "--test-reporter-destination=stdout",
    "--test-reporter=tap",
    `--test-reporter-destination=${tapFile}`,
    ...files,
  ],
  { cwd: root, stdio: "inherit", env: { ...process.env, BCR_TEST: "1" } },
);
let pass = 0,
  fail = 0,
  skip = 0;
try {
  const tap = fs.readFileSync(tapFile, "utf8");
  const grab = (k) => Number((tap.match(new RegExp(`^# ${k} (\\d+)$`, "m")) ?? [])[1] ?? 0);
  pass = grab("pass");
  fail = grab("fail");
  skip = grab("skipped") + grab("todo");
  fs.rmSync(tapFile, { force: true });
} catch {
  /* runner died before writing its report: the exit code says so */
}
console.log(
  `\n${pass} passed, ${fail} failed, ${skip} skipped${biomeOk ? "" : "; biome ci FAILED (formatting or lint, see above)"}`,
);
process.exit(res.status === 0 && fail === 0 && pass > 0 && biomeOk ? 0 : 1);
