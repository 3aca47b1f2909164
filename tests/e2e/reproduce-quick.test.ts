// CI runs the quick reproduction end to end through the real CLI: data, SFT, every RL method,
// sweeps, fits, analyses, figures and report.html (about 1-2 minutes on 2 cores).
import { test } from "node:test";
import { tempDir } from "../helpers/tmp.js";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

test("bcr reproduce --quick writes claims.json, summary.json, tables, figures and report.html", {
  timeout: 900_000,
}, () => {
  const tmp = tempDir("bcr-quick-");
  const out = path.join(tmp, "results"),
    runs = path.join(tmp, "runs");
  const r = spawnSync(
    process.execPath,
    [path.join(root, "bin/bcr.js"), "reproduce", "--quick", "--out", out, "--runs", runs, "--quiet"],
    {
      cwd: root,
      encoding: "utf8",
      timeout: 890_000,
    },
  );
  assert.equal(r.status, 0, `exit ${r.status}\n${r.stdout}\n${r.stderr}`);
  const claims = JSON.parse(fs.readFileSync(path.join(out, "claims.json"), "utf8"));
  for (const m of ["sft", "single", "bcr"]) {
    assert.ok(claims.methods[m], `claims.methods.${m}`);
    const a = claims.methods[m].n1.accuracy;
    assert.ok(a.mean >= 0 && a.mean <= 1 && a.ci.length === 2, `${m} accuracy ${JSON.stringify(a)}`);
  }
  assert.ok(Array.isArray(claims.methods.bcr.sweep) && claims.methods.bcr.sweep.length > 1);
  const summary = JSON.parse(fs.readFileSync(path.join(out, "summary.json"), "utf8"));
  assert.ok(typeof summary.backend === "string" || typeof summary.backend?.name === "string");
  const report = fs.readFileSync(path.join(out, "report.html"), "utf8");
  assert.match(report, /<table/);
  // Quick mode says what it is wherever its verdicts show: console, report, summary notes.
  assert.match(report, /SMOKE TEST, NOT A RESULT/);
  assert.match(r.stderr, /SMOKE TEST, NOT A RESULT/);
  assert.match(r.stdout, /SMOKE TEST, NOT A RESULT/);
  assert.match(summary.notes[0], /^SMOKE TEST, NOT A RESULT/);
  assert.ok(fs.readdirSync(path.join(out, "tables")).some((f) => f.endsWith(".csv")));
  assert.ok(fs.readdirSync(path.join(out, "figures")).some((f) => f.endsWith(".html")));
  // A second run finds every stage done and redoes nothing.
  const again = spawnSync(
    process.execPath,
    [path.join(root, "bin/bcr.js"), "reproduce", "--quick", "--out", out, "--runs", runs, "--quiet"],
    {
      cwd: root,
      encoding: "utf8",
      timeout: 120_000,
    },
  );
  assert.equal(again.status, 0, again.stderr);
  fs.rmSync(tmp, { recursive: true, force: true });
});
