// `bcr study` end to end on tiny models (configs/study/quick.json: A, B and C in miniature, 3 SFT
// seeds x 2 RL seeds each, a step or a few of everything): the plan and ETA come first, study.json holds exactly the
// fields issue 29 names, the rows re-judge to the same verdicts, a killed study resumes where it
// stopped, and a gate that fails on the SFT models stops the experiment before any RL.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { kernelSetOf } from "../../src/study/arithmetic.js";
import { isFingerprint } from "../../src/model/arithmetic-fingerprint.js";
import { experimentHash, loadExperiment } from "../../src/study/config.js";
import { rulesCommit } from "../../src/study/provenance.js";
import { readRows } from "../../src/study/rows.js";
import { tempDir } from "../helpers/tmp.js";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

function study(args: string[]) {
  const r = spawnSync(
    process.execPath,
    [
      path.join(root, "bin/bcr.js"),
      "study",
      "--quiet",
      "--costs",
      path.join(root, "docs/history/ladder/summary.json"),
      ...args,
    ],
    { cwd: root, encoding: "utf8", timeout: 300_000 },
  );
  assert.equal(r.status, 0, `exit ${r.status}\n${r.stdout}\n${r.stderr}`);
  return r;
}

const readJson = (f: string) => JSON.parse(fs.readFileSync(f, "utf8"));

test("bcr study --quick: plan and ETA first, study.json's fields, rows, report; --rejudge gives the same verdicts; resume", {
  timeout: 600_000,
}, () => {
  const tmp = tempDir("bcr-study-");
  const out = path.join(tmp, "out"),
    runs = path.join(tmp, "runs");
  const r = study(["--quick", "--out", out, "--runs", runs]);
  const plan = r.stderr.indexOf("[study] planned work");
  assert.ok(plan >= 0 && plan < r.stderr.indexOf("[reproduce]"), "the plan is printed before any stage runs");
  assert.match(r.stderr, /estimated: .* left of/);
  assert.match(r.stderr, /basis: .*summary\.json/);
  assert.match(r.stderr, /ETA /, "live progress with an ETA");
  assert.match(r.stdout, /SMOKE TEST, NOT A RESULT/);

  const s = readJson(path.join(out, "study.json"));
  assert.deepEqual(Object.keys(s), ["wall_s", "experiments"]);
  for (const k of ["total", "data", "sft", "gate", "rl", "eval", "judge"])
    assert.equal(typeof s.wall_s[k], "number", k);
  assert.deepEqual(
    s.experiments.map((x: { id: string }) => x.id),
    ["A", "B", "C"],
  );
  assert.deepEqual(
    s.experiments.map((x: { claims: { id: string }[] }) => x.claims.map((c) => c.id)),
    [["2", "3", "frontier"], ["sharing"], ["1"]],
  );
  assert.match(s.experiments[1].gate.figure, /^difficulty_token_gap /);
  assert.match(s.experiments[2].gate.figure, /^forced_bare_accuracy_n1 .*; forced_bare_accuracy_n8 /);
  for (const x of s.experiments.slice(1))
    for (const c of x.claims) assert.ok(!/not measured/.test(c.figure), `${x.id} ${c.id}: ${c.figure}`);
  const e = s.experiments[0];
  assert.deepEqual(Object.keys(e), [
    "id",
    "sft_seeds",
    "rl_seeds",
    "eval_samples",
    "gate",
    "rules_commit",
    "claims",
    "frontier",
    "sgemm_peak",
  ]);
  assert.equal(e.id, "A");
  // The machine's sgemm peak before and after A ran, recorded beside its stage times.
  // (every core under the native kernel set; the one figure of a backend with fixed threads)
  assert.ok([1, os.availableParallelism()].includes(e.sgemm_peak.threads), `threads ${e.sgemm_peak.threads}`);
  assert.match(r.stderr, /\[study\] the machine's sgemm peak now: [\d.]+ GFLOP\/s on \d+ threads/);
  for (const g of [e.sgemm_peak.start, e.sgemm_peak.end]) assert.ok(Number.isFinite(g) && g > 0, `peak ${g}`);
  assert.deepEqual(e.sft_seeds, [1, 2, 3]);
  assert.deepEqual(e.rl_seeds, [1, 2]);
  assert.equal(e.eval_samples, 2);
  assert.deepEqual(Object.keys(e.gate), ["passed", "figure", "threshold"]);
  assert.equal(e.gate.passed, true);
  assert.deepEqual(
    e.claims.map((c: { id: string }) => c.id),
    ["2", "3", "frontier"],
  );
  for (const c of e.claims) assert.ok(typeof c.verdict === "string" && typeof c.figure === "string" && c.figure.length);
  assert.deepEqual(Object.keys(e.frontier), ["diff", "ci"]);

  const rowsFile = path.join(out, "study", "A", "rows.jsonl.gz");
  const a = readRows(rowsFile);
  assert.deepEqual([...new Set(a.rows.map((x) => x.arm))].sort(), ["bcr", "linear@0.5", "linear@2", "sft", "single"]);
  assert.deepEqual([...new Set(a.rows.map((x) => x.sft))].sort(), [1, 2, 3]);
  assert.deepEqual([...new Set(a.rows.filter((x) => x.arm === "bcr").map((x) => x.rl))].sort(), [1, 2]);
  assert.deepEqual([...new Set(a.rows.map((x) => x.set))].sort(), ["cont", "greedy", "n1", "sweep"]);
  assert.deepEqual(a.meta.sgemm_peak, e.sgemm_peak, "study.json's figure is the rows' own");
  assert.equal(a.meta.gate.length, 3);
  assert.equal(a.meta.runs.length, 3 * 4 * 2 + 2 * 2, "main runs and the continuation (bcr, single x 2 RL seeds)");
  assert.deepEqual(a.meta.continuation, { steps: 2, sft: 1, methods: ["bcr", "single"] });
  assert.equal(a.meta.rules_commit, rulesCommit(path.join(root, "configs/study/quick-A.json")), "the rules as run");
  assert.equal(e.rules_commit, a.meta.rules_commit);
  const report = fs.readFileSync(path.join(out, "study", "A", "report.md"), "utf8");
  assert.match(report, /nonInferiorityMargin: 0\.05/);
  assert.match(report, /Rules/);
  assert.match(report, /\| 2 \| /);
  assert.match(report, /continuation on SFT seed 1/);
  for (const k of [1, 2, 3]) assert.ok(fs.existsSync(path.join(runs, "A", `sft-${k}`, "rl", "bcr", "seed-2")));

  // Re-judging from the rows alone (no runs folder) gives the same verdicts and figures.
  fs.renameSync(runs, `${runs}-away`);
  study(["--quick", "--out", out, "--runs", path.join(tmp, "none"), "--rejudge"]);
  assert.deepEqual(readJson(path.join(out, "study.json")).experiments, s.experiments);
  fs.renameSync(`${runs}-away`, runs);

  // Killed during an eval: the study goes on from there and ends with the same rows and verdicts.
  // And a continuation done with another config (its done.json's hash altered) is run again.
  fs.rmSync(path.join(runs, "A", "done.json"));
  const contDone = path.join(runs, "A", "sft-1", "cont-2", "done.json");
  const contHash = readJson(contDone).hash;
  assert.match(contHash, /^[0-9a-f]{16}$/, "the continuation's done.json holds its config hash");
  fs.writeFileSync(contDone, JSON.stringify({ ...readJson(contDone), hash: "0000000000000000" }));
  const marker = path.join(runs, "A", "sft-2", ".reproduce", "eval.json");
  fs.writeFileSync(marker, JSON.stringify({ ...readJson(marker), status: "running" }));
  fs.rmSync(path.join(runs, "A", "sft-2", "eval", "bcr", "seed-1", "eval.json"));
  const again = study(["--quick", "--out", out, "--runs", runs]);
  assert.match(again.stderr, /sft: done earlier/);
  assert.match(again.stderr, /eval: resuming/);
  assert.match(again.stderr, /eval \d+\/9: bcr seed 1 \(/, "the missing model is evaluated again");
  assert.doesNotMatch(again.stderr, /eval \d+\/9: single seed 1 \(/, "a finished model is not");
  assert.match(again.stderr, /sft-1: the continuation was done with another config .*; starting it over/);
  assert.equal(readJson(contDone).hash, contHash);
  assert.deepEqual(readRows(rowsFile).rows, a.rows);
  // The same but for A's sgemm peaks, measured again around the resumed part.
  const noPeak = (xs: { sgemm_peak?: unknown }[]) => xs.map(({ sgemm_peak: _p, ...x }) => x);
  assert.deepEqual(noPeak(readJson(path.join(out, "study.json")).experiments), noPeak(s.experiments));
});

test("a gate that fails on the SFT models: 'gate failed' for every claim, and no RL", { timeout: 300_000 }, () => {
  const tmp = tempDir("bcr-study-gate-");
  const exp = readJson(path.join(root, "configs/study/quick-A.json"));
  exp.base.extends = path.join(root, "configs/reproduce-quick.json");
  exp.gate.threshold = 1.01; // a share cannot reach it
  fs.writeFileSync(path.join(tmp, "A.json"), JSON.stringify(exp));
  fs.writeFileSync(path.join(tmp, "study.json"), JSON.stringify({ smoke: true, experiments: ["A.json"] }));
  const out = path.join(tmp, "out"),
    runs = path.join(tmp, "runs");
  const r = study(["--config", path.join(tmp, "study.json"), "--out", out, "--runs", runs]);
  assert.match(r.stdout, /A gate failed/);
  const e = readJson(path.join(out, "study.json")).experiments[0];
  assert.equal(e.gate.passed, false);
  assert.equal(e.gate.threshold, 1.01);
  assert.match(e.gate.figure, /recheck_share .* \(needs >= 1\.01\) .*passed on 0 of 3/);
  assert.deepEqual(
    e.claims.map((c: { verdict: string }) => c.verdict),
    ["gate failed", "gate failed", "gate failed"],
  );
  assert.deepEqual(e.frontier, { diff: null, ci: null });
  // What a replicate under other kernels is matched with (arithmetic.ts): the rows' kernel set, as
  // machine.json names the backend, and the hash of the config they were run from.
  const meta = readRows(path.join(out, "study", "A", "rows.jsonl.gz")).meta;
  const machine = readJson(path.join(out, "study", "A", "machine.json"));
  assert.equal(meta.kernels, kernelSetOf(machine.backend));
  // And what tells kernel sets apart: the arithmetic fingerprint, in the meta and machine.json alike.
  assert.ok(isFingerprint(meta.arithmetic ?? ""), `meta arithmetic ${meta.arithmetic}`);
  assert.equal(machine.arithmetic, meta.arithmetic);
  assert.equal(meta.experiment_hash, experimentHash(loadExperiment(path.join(tmp, "A.json"))));
  for (const k of [1, 2, 3]) {
    assert.ok(fs.existsSync(path.join(runs, "A", `sft-${k}`, "sft")), "the SFT model was trained");
    assert.ok(!fs.existsSync(path.join(runs, "A", `sft-${k}`, "rl")), "no RL ran");
  }
});

// A gate measured on one SFT model must not be answered from the response caches of another in
// the same folder (same model name): a changed SFT recipe re-measures from scratch. Before the fix,
// the caches sat in gate/0-recheck_share/ and a new recipe's gate read the old model's responses.
test("a new SFT model in the same folder: its gate is measured afresh, not from the old model's caches", {
  timeout: 300_000,
}, () => {
  const tmp = tempDir("bcr-study-regate-");
  const exp = readJson(path.join(root, "configs/study/quick-A.json"));
  exp.base.extends = path.join(root, "configs/reproduce-quick.json");
  const write = () => fs.writeFileSync(path.join(tmp, "A.json"), JSON.stringify(exp));
  write();
  fs.writeFileSync(path.join(tmp, "study.json"), JSON.stringify({ smoke: true, experiments: ["A.json"] }));
  const runs = path.join(tmp, "runs");
  const args = ["--config", path.join(tmp, "study.json"), "--out", path.join(tmp, "out"), "--runs", runs];
  const phase = [...args, "--experiment", "A", "--phase", "sft", "--sft-seed", "1"];
  const dir = path.join(runs, "A", "sft-1");
  const gateOf = () => readJson(path.join(dir, "gate.json")) as { hash: string };

  study(phase);
  const first = gateOf().hash;
  assert.deepEqual(fs.readdirSync(path.join(dir, "gate")), [first], "the caches sit under the gate's hash");

  exp.base.sft.mix = { essential: 0.2, redundant: 0.7, shortcut: 0.1 }; // another SFT model, same name
  write();
  study(phase);
  const second = gateOf().hash;
  assert.notEqual(second, first, "the gate is keyed by the new SFT model");
  assert.deepEqual(fs.readdirSync(path.join(dir, "gate")), [second], "the old model's caches are gone");
});
