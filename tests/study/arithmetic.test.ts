// Verdicts across kernel sets (src/study/arithmetic.ts): a study whose config lists a replicate
// under another kernel set (arithmeticReplicates) re-judges both sides from their rows and keeps a
// verdict only where they agree. Each case re-judges hand-made archives of a one-claim experiment
// (claim 2 on bcr and single) with `bcr study --rejudge`'s code path and reads study.json,
// findings.md and report.html.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { kernelSetOf } from "../../src/study/arithmetic.js";
import { experimentHash, loadStudy } from "../../src/study/config.js";
import { type RowsMeta, type StudyRow, writeRows } from "../../src/study/rows.js";
import { runStudy } from "../../src/study/runner.js";
import { tempDir } from "../helpers/tmp.js";
import { handMadeMeta } from "./fixtures.js";

// No PNGs: the report's tables are what is checked, and Chromium would only slow the cases down.
process.env.BCR_CHROMIUM = "/nonexistent/chromium";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const SFT = [1, 2, 3],
  RL = [1, 2],
  PROBLEMS = 8,
  SAMPLES = [0, 1];

/** Sampled N=1 rows of one arm: the same correctness for every arm (accuracy difference 0), `tokens` per problem. */
function n1Rows(arm: string, tokens: number): StudyRow[] {
  return SFT.flatMap((sft) =>
    RL.flatMap((rl) =>
      Array.from({ length: PROBLEMS }, (_, i) =>
        SAMPLES.map((sample) => ({
          arm,
          sft,
          rl,
          set: "n1" as const,
          n: 1,
          group: 0,
          pos: 1,
          problem: `p${i}`,
          level: 1,
          sample,
          correct: (i + sample) % 2,
          truncated: 0,
          tokens: tokens + sft + (i % 3),
          loops: 0,
        })),
      ).flat(),
    ),
  );
}

/** Claim 2 held (bcr 25% shorter, as accurate) or partially (as long as single). */
const HELD = [...n1Rows("single", 40), ...n1Rows("bcr", 30)];
const PARTIALLY = [...n1Rows("single", 40), ...n1Rows("bcr", 40)];

/** Fingerprints measured on one AMD EPYC (src/model/arithmetic-fingerprint.ts): Haswell's (= Zen's), Cooperlake's, wasm's. */
const FP_HASWELL = "d6d52bffa6864d2c",
  FP_COOPERLAKE = "92aca109afc75578",
  FP_WASM = "ff50d75b010fba69";

const NATIVE_MACHINE = {
  backend: {
    name: "wasm",
    kernels: { engine: "native", blas: { corename: "Zen" } },
  },
};

/**
 * A study in a temp folder: quick-A cut to claim 2, its main results folder and one replicate
 * folder listed in arithmeticReplicates.
 */
function studyWithReplicate() {
  const dir = tempDir("bcr-arith-");
  const exp = JSON.parse(fs.readFileSync(path.join(root, "configs/study/quick-A.json"), "utf8"));
  exp.base.extends = path.join(root, "configs/reproduce-quick.json");
  exp.claims = ["2"];
  delete exp.continuation;
  fs.writeFileSync(path.join(dir, "A.json"), JSON.stringify(exp));
  const out = path.join(dir, "out"),
    replicate = path.join(dir, "wasm");
  const studyFile = path.join(dir, "study.json");
  fs.writeFileSync(
    studyFile,
    JSON.stringify({ out, experiments: ["A.json"], arithmeticReplicates: [replicate] }, null, 2),
  );
  const study = loadStudy(studyFile);
  const hash = experimentHash(study.experiments[0]!);
  const archive = (folder: string, rows: StudyRow[], over: Partial<RowsMeta>) =>
    writeRows(path.join(folder, "study", "A", "rows.jsonl.gz"), {
      meta: handMadeMeta(SFT, PROBLEMS, { id: "A", rules_commit: null, ...over }),
      rows,
    });
  /**
   * The main run as the committed archives are: no kernels in the meta, machine.json beside it
   * (with `arithmetic` where given, as after a backfill).
   */
  const mainArchive = (rows: StudyRow[], over: Partial<RowsMeta> = {}, arithmetic?: string) => {
    archive(out, rows, over);
    fs.writeFileSync(
      path.join(out, "study", "A", "machine.json"),
      JSON.stringify({ ...NATIVE_MACHINE, ...(arithmetic !== undefined ? { arithmetic } : {}) }),
    );
  };
  const replicateArchive = (rows: StudyRow[], over: Partial<RowsMeta> = {}) =>
    archive(replicate, rows, { kernels: "wasm", experiment_hash: hash, ...over });
  const rejudge = async (opts: { out?: string } = {}) => {
    const lines: string[] = [];
    await runStudy(study, { rejudge: true, out: opts.out ?? out, log: (l) => lines.push(l) });
    const o = opts.out ?? out;
    const read = (f: string) => fs.readFileSync(path.join(o, f), "utf8");
    return {
      log: lines.join("\n"),
      study: JSON.parse(read("study.json")).experiments[0],
      findings: read("study/findings.md"),
      html: read("study/report.html"),
    };
  };
  return { study, out, replicate, hash, mainArchive, replicateArchive, rejudge };
}

const findingsRow = (md: string) => md.split("\n").find((l) => l.startsWith("| A |"))!;

test("kernel sets agree: the verdict stands, study.json keeps each side's, findings.md says both agree", async () => {
  const s = studyWithReplicate();
  s.mainArchive(HELD);
  s.replicateArchive(HELD);
  const r = await s.rejudge();
  assert.deepEqual(
    r.study.claims.map((c: { verdict: string }) => c.verdict),
    ["held"],
  );
  assert.match(
    r.study.claims[0].figure,
    /^native \(OpenBLAS Zen\) held \(.*\) \| wasm held \(.*\): kernel sets agree$/,
  );
  assert.deepEqual(
    r.study.arithmetic.map((a: { kernels: string; rows: string; claims: { verdict: string }[] }) => [
      a.kernels,
      a.rows,
      a.claims.map((c) => c.verdict),
    ]),
    [
      ["native (OpenBLAS Zen)", path.join(s.out, "study", "A", "rows.jsonl.gz"), ["held"]],
      ["wasm", path.join(s.replicate, "study", "A", "rows.jsonl.gz"), ["held"]],
    ],
  );
  assert.match(findingsRow(r.findings), /\| \*\*held\*\* \(native \(OpenBLAS Zen\) and wasm agree\) \|/);
  assert.match(r.html, /<h3>Across kernel sets<\/h3>/);
  assert.match(r.log, /A: verdicts across kernel sets native \(OpenBLAS Zen\) .*, wasm /);
});

test("kernel sets disagree: not decided, in bold with both verdicts in findings.md, each side's verdict in study.json", async () => {
  const s = studyWithReplicate();
  s.mainArchive(HELD);
  s.replicateArchive(PARTIALLY);
  const r = await s.rejudge();
  assert.equal(r.study.claims[0].verdict, "not decided");
  assert.match(
    r.study.claims[0].figure,
    /^native \(OpenBLAS Zen\) held \(.*\) \| wasm partially \(.*\): kernel sets disagree, so not decided$/,
  );
  assert.deepEqual(
    r.study.arithmetic.map((a: { claims: { verdict: string }[] }) => a.claims[0]!.verdict),
    ["held", "partially"],
  );
  const row = findingsRow(r.findings);
  assert.match(row, /\| \*\*not decided\*\* \(native \(OpenBLAS Zen\): held; wasm: partially\) \|/);
  assert.match(row, /native \(OpenBLAS Zen\) held \(.*\) \\\| wasm partially \(/, "the figure column shows both sides");
  const section = r.html.slice(r.html.indexOf("<h3>Across kernel sets</h3>"));
  assert.match(section, /<th>native \(OpenBLAS Zen\)<\/th><th>wasm<\/th><th>across kernel sets<\/th>/);
  assert.match(section, />held<\/span><\/td><td>.*>partially<\/span><\/td><td>.*>not decided<\/span>/);
});

test("a gate passed under one kernel set and failed under the other: every claim not decided, shown as a verdict", async () => {
  const s = studyWithReplicate();
  s.mainArchive([], { gatePassed: false });
  s.replicateArchive(HELD);
  const r = await s.rejudge();
  assert.equal(r.study.claims[0].verdict, "not decided");
  assert.match(r.study.claims[0].figure, /^native \(OpenBLAS Zen\) gate failed \(.*\) \| wasm held \(/);
  assert.match(
    findingsRow(r.findings),
    /\| \*\*not decided\*\* \(native \(OpenBLAS Zen\): gate failed; wasm: held\) \|/,
  );
});

test("a replicate with no rows for the experiment: the main verdicts unchanged, and the log says it was not used", async () => {
  const s = studyWithReplicate();
  s.mainArchive(PARTIALLY);
  const r = await s.rejudge();
  assert.equal(r.study.claims[0].verdict, "partially");
  assert.doesNotMatch(r.study.claims[0].figure, /kernel sets/);
  assert.equal(r.study.arithmetic, undefined);
  assert.match(findingsRow(r.findings), /\| \*\*partially\*\* \|/);
  assert.doesNotMatch(r.html, /Across kernel sets/);
  assert.ok(
    r.log.includes(
      `A: arithmetic replicate ${s.replicate} has no rows for A (${path.join(s.replicate, "study", "A", "rows.jsonl.gz")}): not used for it`,
    ),
    r.log,
  );
});

test("a replicate with the main run's arithmetic fingerprint, under another core name: an error naming both archives, and nothing written", async () => {
  const s = studyWithReplicate();
  s.mainArchive(HELD, {}, FP_HASWELL);
  // Haswell and Zen computed the same bits on this study's AMD EPYC: the names differ, the arithmetic does not.
  s.replicateArchive(HELD, { kernels: "native (OpenBLAS Haswell)", arithmetic: FP_HASWELL });
  await assert.rejects(
    s.rejudge(),
    new RegExp(
      `wasm/study/A/rows\\.jsonl\\.gz was computed with the arithmetic of ${s.out}/study/A/rows\\.jsonl\\.gz \\(fingerprint ${FP_HASWELL}; kernel sets native \\(OpenBLAS Haswell\\) \\[d6d52bff\\] and native \\(OpenBLAS Zen\\) \\[d6d52bff\\]\\): a replicate of the arithmetic runs under arithmetic of its own`,
    ),
  );
  assert.equal(fs.existsSync(path.join(s.out, "study.json")), false);
  assert.equal(fs.existsSync(path.join(s.out, "study", "findings.md")), false);
});

test("different fingerprints on the same engine: a replicate, each side labelled with its fingerprint's first digits", async () => {
  const s = studyWithReplicate();
  s.mainArchive(HELD, {}, FP_HASWELL);
  s.replicateArchive(PARTIALLY, { kernels: "native (OpenBLAS Cooperlake)", arithmetic: FP_COOPERLAKE });
  const r = await s.rejudge();
  assert.equal(r.study.claims[0].verdict, "not decided");
  assert.deepEqual(
    r.study.arithmetic.map((a: { kernels: string; arithmetic: string }) => [a.kernels, a.arithmetic]),
    [
      ["native (OpenBLAS Zen) [d6d52bff]", FP_HASWELL],
      ["native (OpenBLAS Cooperlake) [92aca109]", FP_COOPERLAKE],
    ],
  );
  assert.match(
    findingsRow(r.findings),
    /\| \*\*not decided\*\* \(native \(OpenBLAS Zen\) \[d6d52bff\]: held; native \(OpenBLAS Cooperlake\) \[92aca109\]: partially\) \|/,
  );
});

test("an old archive (no fingerprint) against a replicate on the same engine: an error saying its arithmetic is unknown, whatever the core names", async () => {
  const s = studyWithReplicate();
  s.mainArchive(HELD);
  s.replicateArchive(HELD, { kernels: "native (OpenBLAS Cooperlake)", arithmetic: FP_COOPERLAKE });
  const main = path.join(s.out, "study", "A");
  await assert.rejects(
    s.rejudge(),
    new RegExp(
      `wasm/study/A/rows\\.jsonl\\.gz \\(native \\(OpenBLAS Cooperlake\\) \\[92aca109\\]\\) and ${main}/rows\\.jsonl\\.gz \\(native \\(OpenBLAS Zen\\)\\) run on the same engine, and the arithmetic of ${main}/rows\\.jsonl\\.gz is unknown \\(no arithmetic fingerprint in its meta or in ${main}/machine\\.json\\): an OpenBLAS core name is not evidence of other arithmetic`,
    ),
  );
  // Neither side recorded: the same, even under one name.
  s.replicateArchive(HELD, { kernels: "native (OpenBLAS Zen)" });
  await assert.rejects(s.rejudge(), /and of .*wasm\/study\/A\/rows\.jsonl\.gz is unknown/);
  assert.equal(fs.existsSync(path.join(s.out, "study.json")), false);
  // Its machine.json given the fingerprint (the backfill of a committed archive): a replicate.
  s.mainArchive(HELD, {}, FP_HASWELL);
  s.replicateArchive(HELD, { kernels: "native (OpenBLAS Cooperlake)", arithmetic: FP_COOPERLAKE });
  assert.equal((await s.rejudge()).study.claims[0].verdict, "held");
});

test("an old archive against a replicate on the other engine (native against wasm): a replicate without fingerprints", async () => {
  const s = studyWithReplicate();
  s.mainArchive(HELD);
  s.replicateArchive(HELD, { arithmetic: FP_WASM });
  const r = await s.rejudge();
  assert.deepEqual(
    r.study.arithmetic.map((a: { kernels: string }) => a.kernels),
    ["native (OpenBLAS Zen)", "wasm [ff50d75b]"],
  );
});

test("a machine.json whose arithmetic is not a fingerprint: an error naming the file and field", async () => {
  const s = studyWithReplicate();
  s.mainArchive(HELD, {}, "Zen");
  s.replicateArchive(HELD);
  await assert.rejects(
    s.rejudge(),
    new RegExp(
      `${s.out}/study/A/machine\\.json: field arithmetic must be an arithmetic fingerprint \\(16 hex digits\\), got "Zen"`,
    ),
  );
});

test("an experiment finished earlier: runStudy judges its rows again and leaves its machine.json, the record of the machine that ran it", async () => {
  const s = studyWithReplicate();
  s.mainArchive(HELD, {}, FP_COOPERLAKE);
  const runs = path.join(path.dirname(s.out), "runs");
  fs.mkdirSync(path.join(runs, "A"), { recursive: true });
  fs.writeFileSync(path.join(runs, "A", "done.json"), JSON.stringify({ hash: s.hash }));
  const machine = path.join(s.out, "study", "A", "machine.json");
  const before = fs.readFileSync(machine, "utf8");
  const lines: string[] = [];
  await runStudy(s.study, { out: s.out, runs, log: (l) => lines.push(l) });
  assert.match(lines.join("\n"), /A: done earlier with the same config/);
  assert.equal(fs.readFileSync(machine, "utf8"), before);
  assert.equal(
    JSON.parse(fs.readFileSync(path.join(s.out, "study.json"), "utf8")).experiments[0].claims[0].verdict,
    "held",
  );
});

test("rows whose kernel set cannot be told (no kernels in the meta, no machine.json): an error naming the file", async () => {
  const s = studyWithReplicate();
  s.mainArchive(HELD);
  fs.rmSync(path.join(s.out, "study", "A", "machine.json"));
  s.replicateArchive(HELD);
  await assert.rejects(
    s.rejudge(),
    new RegExp(
      `${s.out}/study/A/rows\\.jsonl\\.gz: cannot tell its kernel set \\(its meta has no field kernels and there is no machine\\.json beside it\\)`,
    ),
  );
});

test("a replicate from another config (experiment hash) or without one: an error naming both", async () => {
  const s = studyWithReplicate();
  s.mainArchive(HELD);
  s.replicateArchive(HELD, { experiment_hash: "0123456789abcdef" });
  await assert.rejects(
    s.rejudge(),
    new RegExp(
      `wasm/study/A/rows\\.jsonl\\.gz: experiment A was run with another config \\(experiment hash 0123456789abcdef\\) than .*A\\.json \\(experiment hash ${s.hash}; .*out/study/A/rows\\.jsonl\\.gz predates the field\\)`,
    ),
  );
  s.replicateArchive(HELD, { experiment_hash: undefined });
  await assert.rejects(s.rejudge(), /wasm\/study\/A\/rows\.jsonl\.gz: its meta records no experiment_hash/);
  assert.equal(fs.existsSync(path.join(s.out, "study.json")), false);
});

test("the call that makes the replicate (--out the replicate's folder) judges its rows alone", async () => {
  const s = studyWithReplicate();
  s.replicateArchive(PARTIALLY);
  const r = await s.rejudge({ out: s.replicate });
  assert.equal(r.study.claims[0].verdict, "partially");
  assert.equal(r.study.arithmetic, undefined);
  assert.match(r.log, /arithmetic replicate .*wasm is this call's own results folder: not compared with itself/);
});

test("kernelSetOf: the wasm set, the native set with OpenBLAS's core, other backends by name", () => {
  assert.equal(kernelSetOf({ name: "wasm", kernels: { engine: "wasm" } }), "wasm");
  assert.equal(
    kernelSetOf({ name: "wasm", kernels: NATIVE_MACHINE.backend.kernels as never }),
    "native (OpenBLAS Zen)",
  );
  assert.equal(kernelSetOf({ name: "cpu", kernels: null }), "cpu");
});
