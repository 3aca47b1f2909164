// The rules commit a re-judge names (src/study/provenance.ts): the one the rows archive's meta line
// recorded when the rows were assembled, whatever commit has touched the config since; for an
// archive from before that field, git's answer as of the commit that wrote the archive. Each case
// re-judges a hand-made archive in a throwaway git repository and reads report.md, report.html and
// study.json. Before the fix, all three named the config's last commit at judge time.
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { loadStudy } from "../../src/study/config.js";
import { readRows, type RowsMeta, writeRows } from "../../src/study/rows.js";
import { runStudy } from "../../src/study/runner.js";
import { tempDir } from "../helpers/tmp.js";
import { handMadeMeta } from "./fixtures.js";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

/** A git repository holding a copy of the quick study's experiment A (its study config beside it). */
function repoWithExperiment() {
  const dir = tempDir("bcr-provenance-");
  const git = (...args: string[]) =>
    execFileSync("git", ["-c", "user.name=t", "-c", "user.email=t@t", "-c", "commit.gpgsign=false", ...args], {
      cwd: dir,
      encoding: "utf8",
    }).trim();
  git("init", "-q");
  const exp = JSON.parse(fs.readFileSync(path.join(root, "configs/study/quick-A.json"), "utf8"));
  exp.base.extends = path.join(root, "configs/reproduce-quick.json");
  const writeExp = (question: string) =>
    fs.writeFileSync(path.join(dir, "A.json"), JSON.stringify({ ...exp, question }));
  writeExp("first rules");
  fs.writeFileSync(path.join(dir, "study.json"), JSON.stringify({ smoke: true, experiments: ["A.json"] }));
  const commit = (what: string) => {
    git("add", "-A");
    git("commit", "-q", "-m", what);
    return git("rev-parse", "HEAD");
  };
  const out = path.join(dir, "out");
  const rowsFile = path.join(out, "study", "A", "rows.jsonl.gz");
  const writeArchive = (over: Partial<RowsMeta>) =>
    writeRows(rowsFile, { meta: handMadeMeta([1, 2, 3], 8, { id: "A", gatePassed: false, ...over }), rows: [] });
  const rejudge = async () => {
    const lines: string[] = [];
    await runStudy(loadStudy(path.join(dir, "study.json")), {
      rejudge: true,
      out,
      log: (l) => lines.push(l),
    });
    const read = (f: string) => fs.readFileSync(path.join(out, f), "utf8");
    return {
      log: lines.join("\n"),
      reportMd: read("study/A/report.md"),
      reportHtml: read("study/report.html"),
      studyJson: JSON.parse(read("study.json")).experiments[0].rules_commit as string | null,
    };
  };
  return { commit, writeExp, writeArchive, rejudge, rowsFile };
}

test("a rows archive whose meta names rules commit X is reported as X, though git's last commit of the config is another", async () => {
  const r = repoWithExperiment();
  const atRun = r.commit("rules as the runs were made");
  r.writeArchive({ rules_commit: atRun, rules_dirty: false });
  r.writeExp("changed rules");
  const later = r.commit("the config changed after the rows were assembled");
  assert.notEqual(later, atRun);

  const j = await r.rejudge();
  assert.equal(j.studyJson, atRun);
  assert.match(j.reportMd, new RegExp(`at commit \`${atRun}\`:`));
  assert.doesNotMatch(j.reportMd, new RegExp(later));
  assert.match(j.reportHtml, new RegExp(`at commit <code>${atRun}</code>`));
  assert.doesNotMatch(j.reportHtml, new RegExp(later));
  assert.doesNotMatch(j.log, /looked up in git/, "the meta answered: no git lookup");
});

test("an archive from before rules_commit: git's commit of the config as of the archive's own commit, and the log says so", async () => {
  const r = repoWithExperiment();
  const rules = r.commit("rules");
  r.writeArchive({}); // no rules_commit: the format committed before the field
  const rowsCommit = r.commit("the rows, judged under those rules");
  r.writeExp("changed rules");
  r.commit("the config changed after the rows were committed");

  const j = await r.rejudge();
  assert.equal(j.studyJson, rules);
  assert.match(j.reportMd, new RegExp(`at commit \`${rules}\`:`));
  assert.match(j.reportHtml, new RegExp(`at commit <code>${rules}</code>`));
  assert.match(
    j.log,
    new RegExp(
      `rows\\.jsonl\\.gz predates the rules commit in its meta line; looked up in git instead: ${rules}, .*${rowsCommit}`,
    ),
  );
});

test("a rows archive whose rules_commit is not a commit: an error naming the file and the field", () => {
  const r = repoWithExperiment();
  r.writeArchive({ rules_commit: 42 as unknown as string });
  assert.throws(
    () => readRows(r.rowsFile),
    /rows\.jsonl\.gz: meta field rules_commit must be a commit hash or null, got 42/,
  );
});

test("a rows archive whose kernels or experiment_hash is not a non-empty string: an error naming the file and the field", () => {
  const r = repoWithExperiment();
  r.writeArchive({ kernels: 3 as unknown as string });
  assert.throws(() => readRows(r.rowsFile), /rows\.jsonl\.gz: meta field kernels must be a non-empty string, got 3/);
  r.writeArchive({ experiment_hash: "" });
  assert.throws(
    () => readRows(r.rowsFile),
    /rows\.jsonl\.gz: meta field experiment_hash must be a non-empty string, got ""/,
  );
});

test("a rows archive whose arithmetic is not a fingerprint: an error naming the file and the field", () => {
  const r = repoWithExperiment();
  r.writeArchive({ arithmetic: "native (OpenBLAS Zen)" });
  assert.throws(
    () => readRows(r.rowsFile),
    /rows\.jsonl\.gz: meta field arithmetic must be an arithmetic fingerprint \(16 hex digits\), got "native \(OpenBLAS Zen\)"/,
  );
  r.writeArchive({ arithmetic: "d6d52bffa6864d2c" });
  assert.equal(readRows(r.rowsFile).meta.arithmetic, "d6d52bffa6864d2c");
});

test("a rows archive whose sgemm_peak is not {threads, start, end} in GFLOP/s: an error naming the file and the field", () => {
  const r = repoWithExperiment();
  for (const bad of [
    { threads: 2, start: 90 },
    { threads: 1.5, start: 90, end: 91 },
    { threads: 2, start: 0, end: 91 },
    "fast",
  ]) {
    r.writeArchive({ sgemm_peak: bad as unknown as { threads: number; start: number; end: number } });
    assert.throws(
      () => readRows(r.rowsFile),
      /rows\.jsonl\.gz: meta field sgemm_peak must be \{threads, start, end\} with a whole thread count and GFLOP\/s above 0, got /,
      JSON.stringify(bad),
    );
  }
  r.writeArchive({ sgemm_peak: { threads: 2, start: 88.5, end: 91.2 } });
  assert.deepEqual(readRows(r.rowsFile).meta.sgemm_peak, { threads: 2, start: 88.5, end: 91.2 });
});

// `bcr study --rejudge` (what the README says to run) while some experiments have not run yet:
// the quick study's A has rows, B and C have none. Before the fix the command stopped at the first
// experiment without rows and judged nothing.
function rejudgeCli(out: string, ...args: string[]) {
  return spawnSync(
    process.execPath,
    [path.join(root, "bin/bcr.js"), "study", "--quick", "--quiet", "--out", out, "--rejudge", ...args],
    { cwd: root, encoding: "utf8", timeout: 120_000 },
  );
}

test("--rejudge judges the experiments that have rows and names the others as not run, exit 0", () => {
  const out = tempDir("bcr-rejudge-some-");
  const rowsA = path.join(out, "study", "A", "rows.jsonl.gz");
  writeRows(rowsA, { meta: handMadeMeta([1, 2, 3], 8, { id: "A", gatePassed: false, rules_commit: null }), rows: [] });
  const r = rejudgeCli(out);
  assert.equal(r.status, 0, `exit ${r.status}\n${r.stdout}\n${r.stderr}`);
  assert.ok(r.stderr.includes(`[study] A: re-judging from ${rowsA}`), r.stderr);
  for (const id of ["B", "C"]) {
    const rows = path.join(out, "study", id, "rows.jsonl.gz");
    assert.ok(r.stderr.includes(`[study] ${id}: no committed rows at ${rows} (not run yet): not judged`), r.stderr);
    assert.equal(fs.existsSync(path.join(out, "study", id)), false, `nothing written for ${id}`);
  }
  // Left out exactly as a run that has not reached them leaves them: only A in study.json and the findings.
  const study = JSON.parse(fs.readFileSync(path.join(out, "study.json"), "utf8"));
  assert.deepEqual(
    study.experiments.map((e: { id: string }) => e.id),
    ["A"],
  );
  const findings = fs.readFileSync(path.join(out, "study", "findings.md"), "utf8");
  assert.match(findings, /\| A \|/);
  assert.doesNotMatch(findings, /\| [BC] \|/);
  assert.ok(fs.existsSync(path.join(out, "study", "report.html")));
});

test("--rejudge with no experiment's rows, or --experiment C without C's rows: an error naming the files", () => {
  const out = tempDir("bcr-rejudge-none-");
  const r = rejudgeCli(out);
  assert.notEqual(r.status, 0, `${r.stdout}\n${r.stderr}`);
  for (const id of ["A", "B", "C"])
    assert.ok(r.stderr.includes(path.join(out, "study", id, "rows.jsonl.gz")), r.stderr);
  assert.match(r.stderr, /no experiment of .*quick\.json has committed rows/);
  assert.equal(fs.existsSync(path.join(out, "study.json")), false);

  writeRows(path.join(out, "study", "A", "rows.jsonl.gz"), {
    meta: handMadeMeta([1, 2, 3], 8, { id: "A", gatePassed: false, rules_commit: null }),
    rows: [],
  });
  const c = rejudgeCli(out, "--experiment", "C");
  assert.notEqual(c.status, 0, `${c.stdout}\n${c.stderr}`);
  assert.ok(c.stderr.includes(`${path.join(out, "study", "C", "rows.jsonl.gz")} does not exist`), c.stderr);
});
