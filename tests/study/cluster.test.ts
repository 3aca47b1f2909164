// The study's work items as a cluster runs them (docs/cluster.md), here two local processes at
// a time sharing one runs folder: experiment A of the quick study through `--phase sft` (SFT seeds
// split between two processes), `--phase rl` (likewise), `--phase cont` and `--phase judge` gives
// the same rows, report and verdicts as one `bcr study --experiment A` process; a phase whose
// inputs are missing fails naming them and writes nothing.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { gunzipSync } from "node:zlib";
import { tempDir } from "../helpers/tmp.js";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

type Result = { status: number | null; stdout: string; stderr: string };

function bcrStudy(args: string[]): Promise<Result> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [
        path.join(root, "bin/bcr.js"),
        "study",
        "--quick",
        "--quiet",
        "--costs",
        path.join(root, "docs/history/ladder/summary.json"),
        ...args,
      ],
      { cwd: root, stdio: ["ignore", "pipe", "pipe"], timeout: 300_000 },
    );
    let stdout = "",
      stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    child.on("error", reject);
    child.on("close", (status) => resolve({ status, stdout, stderr }));
  });
}

const ok = (...results: Result[]) => {
  for (const r of results) assert.equal(r.status, 0, `exit ${r.status}\n${r.stdout}\n${r.stderr}`);
};
const lines = (file: string) => gunzipSync(fs.readFileSync(file)).toString("utf8").split("\n");

test("bcr study --phase: A in two processes per phase, then judged, equals one process", {
  timeout: 600_000,
}, async () => {
  const t0 = performance.now();
  const tmp = tempDir("bcr-cluster-");
  const one = { runs: path.join(tmp, "one", "runs"), out: path.join(tmp, "one", "out") };
  const two = { runs: path.join(tmp, "two", "runs"), out: path.join(tmp, "two", "out") };
  const at = (d: typeof one, ...args: string[]) =>
    bcrStudy(["--experiment", "A", "--runs", d.runs, "--out", d.out, ...args]);
  // The one-process run, beside the cluster's phases (it keeps the second core busy).
  const single = at(one);

  // RL before any gate: every SFT seed named, the command that makes them, nothing written.
  const early = await at(two, "--phase", "rl");
  assert.equal(early.status, 1, early.stderr);
  assert.match(early.stderr, /gate of SFT seeds 1, 2, 3 of experiment A is missing/);
  assert.match(early.stderr, /--experiment A --phase sft --sft-seed 1,2,3/);
  assert.ok(!fs.existsSync(two.runs), "nothing written");

  ok(
    ...(await Promise.all([
      at(two, "--phase", "sft", "--sft-seed", "1,3"),
      at(two, "--phase", "sft", "--sft-seed", "2"),
    ])),
  );
  for (const k of [1, 2, 3]) assert.ok(fs.existsSync(path.join(two.runs, "A", `sft-${k}`, "gate.json")));
  assert.ok(!fs.existsSync(path.join(two.runs, "A", "sft-1", "rl")), "phase sft runs no RL");
  assert.ok(!fs.existsSync(two.out), "phase sft judges nothing");

  // The judge before RL: every missing item named, with its command, nothing written.
  const judgeEarly = await at(two, "--phase", "judge");
  assert.equal(judgeEarly.status, 1, judgeEarly.stderr);
  assert.match(
    judgeEarly.stderr,
    /experiment A has 4 work items not done: rl sft-1 \(no rl stage .*\); rl sft-2 .*; rl sft-3 .*; cont sft-1/,
  );
  assert.match(judgeEarly.stderr, /--phase rl --sft-seed 1,2,3`, then `.*--phase cont`/);
  assert.ok(!fs.existsSync(two.out), "nothing written");
  assert.ok(!fs.existsSync(path.join(two.runs, "A", "done.json")));

  ok(
    ...(await Promise.all([
      at(two, "--phase", "rl", "--sft-seed", "1"),
      at(two, "--phase", "rl", "--sft-seed", "2", "--sft-seed", "3"),
    ])),
  );
  ok(await at(two, "--phase", "cont"));
  const judged = await at(two, "--phase", "judge");
  ok(judged);
  assert.match(judged.stdout, /A 2 .*; .*study\.json/);
  const r = await single;
  ok(r);
  for (const d of [one, two])
    for (const k of [1, 2, 3])
      assert.ok(!fs.existsSync(path.join(d.runs, "A", `sft-${k}`, ".study.lock")), "locks released");

  // Every row byte for byte; the meta line too, but for the stage times (measured, so never equal)
  // and the machine's sgemm peak, which only the one process that ran everything records.
  const [a, b] = [one, two].map((d) => lines(path.join(d.out, "study", "A", "rows.jsonl.gz")));
  assert.ok(a!.length > 1000, `${a!.length} lines`);
  assert.deepEqual(b!.slice(1), a!.slice(1));
  const meta = (l: string) => {
    const { wall, sgemm_peak: _p, ...m } = JSON.parse(l);
    assert.deepEqual(Object.keys(wall).sort(), ["continuation", "data", "eval", "gate", "judge", "rl", "sft"]);
    return m;
  };
  assert.deepEqual(meta(b![0]!), meta(a![0]!));
  assert.ok(JSON.parse(a![0]!).sgemm_peak.start > 0, "one process: the peak recorded");
  assert.equal(JSON.parse(b![0]!).sgemm_peak, undefined, "phases: none (no one process saw the work run)");
  const read = (d: typeof one, f: string) => fs.readFileSync(path.join(d.out, f), "utf8");
  assert.equal(read(two, "study/A/report.md"), read(one, "study/A/report.md"));
  const experiments = (d: typeof one) =>
    JSON.parse(read(d, "study.json")).experiments.map(({ sgemm_peak: _p, ...x }: { sgemm_peak?: unknown }) => x);
  assert.deepEqual(experiments(two), experiments(one));
  assert.deepEqual(
    Object.keys(JSON.parse(read(two, "study/A/machine.json"))),
    Object.keys(JSON.parse(read(one, "study/A/machine.json"))),
  );
  const hash = (d: typeof one) => JSON.parse(fs.readFileSync(path.join(d.runs, "A", "done.json"), "utf8")).hash;
  assert.equal(hash(two), hash(one), "done.json: the same experiment hash");

  // The full run recognises the phases' work as its own: nothing trained again.
  const again = await at(two);
  ok(again);
  assert.match(again.stderr, /A: done earlier with the same config/);
  console.log(`# cluster test: ${((performance.now() - t0) / 1000).toFixed(1)} s`);
});
