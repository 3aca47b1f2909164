import { test } from "node:test";
import { tempDir } from "../helpers/tmp.js";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import {
  canonicalJson,
  decideStage,
  readMarker,
  runStage,
  stageHash,
  type StageSpec,
} from "../../src/reproduce/stages.js";
import { ReproduceConfigSchema } from "../../src/reproduce/config.js";
import { stageHashes } from "../../src/reproduce/pipeline.js";
import { loadConfig } from "../../src/util/config.js";

const quiet = () => undefined;

function tmp(): string {
  return tempDir("bcr-stages-");
}

function spec(dir: string, hash: string, calls: string[], opts: { fail?: boolean } = {}): StageSpec {
  const out = path.join(dir, "out.txt");
  return {
    name: "work",
    hash,
    outputs: [out],
    clean: [out],
    async run(action) {
      calls.push(action);
      if (opts.fail) {
        fs.writeFileSync(out + ".partial", "half");
        throw new Error("interrupted");
      }
      fs.writeFileSync(out, hash);
      return { wrote: out };
    },
  };
}

test("stageHash ignores key order and changes with any value", () => {
  assert.equal(stageHash({ a: 1, b: { c: [1, 2], d: "x" } }), stageHash({ b: { d: "x", c: [1, 2] }, a: 1 }));
  assert.notEqual(stageHash({ a: 1 }), stageHash({ a: 2 }));
  assert.equal(canonicalJson({ b: 1, a: 2 }), '{"a":2,"b":1}');
});

test("decideStage: fresh without a marker, on another hash, or forced; skip when done; resume otherwise", () => {
  const m = { stage: "s", hash: "h", status: "done" as const, started: "", wall_s: 1 };
  assert.equal(decideStage(null, "h", { outputsExist: true }), "fresh");
  assert.equal(decideStage(m, "other", { outputsExist: true }), "fresh");
  assert.equal(decideStage(m, "h", { outputsExist: true, force: true }), "fresh");
  assert.equal(decideStage(m, "h", { outputsExist: true }), "skip");
  assert.equal(decideStage(m, "h", { outputsExist: false }), "resume");
  assert.equal(decideStage({ ...m, status: "running" }, "h", { outputsExist: true }), "resume");
});

test("runStage: a done stage is skipped, a changed config re-runs it fresh, --force redoes it", async () => {
  const dir = tmp();
  try {
    const calls: string[] = [];
    const first = await runStage(spec(dir, "h1", calls), { runsDir: dir, log: quiet });
    assert.equal(first.action, "fresh");
    assert.equal(first.status, "done");
    assert.deepEqual(first.info, { wrote: path.join(dir, "out.txt") });
    const again = await runStage(spec(dir, "h1", calls), { runsDir: dir, log: quiet });
    assert.equal(again.action, "skip");
    assert.deepEqual(calls, ["fresh"]);
    const changed = await runStage(spec(dir, "h2", calls), { runsDir: dir, log: quiet });
    assert.equal(changed.action, "fresh");
    assert.equal(fs.readFileSync(path.join(dir, "out.txt"), "utf8"), "h2");
    const forced = await runStage(spec(dir, "h2", calls), { runsDir: dir, log: quiet, force: true });
    assert.equal(forced.action, "fresh");
    assert.deepEqual(calls, ["fresh", "fresh", "fresh"]);
    // deleting an output of a done stage makes it resume (the work inside picks up what is left)
    fs.rmSync(path.join(dir, "out.txt"));
    const resumed = await runStage(spec(dir, "h2", calls), { runsDir: dir, log: quiet });
    assert.equal(resumed.action, "resume");
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("runStage: an interrupted stage keeps a running marker and resumes with the same hash, without cleaning", async () => {
  const dir = tmp();
  try {
    const calls: string[] = [];
    await assert.rejects(runStage(spec(dir, "h1", calls, { fail: true }), { runsDir: dir, log: quiet }), /interrupted/);
    const marker = readMarker(dir, "work");
    assert.equal(marker?.status, "running");
    assert.equal(marker?.hash, "h1");
    const r = await runStage(spec(dir, "h1", calls), { runsDir: dir, log: quiet });
    assert.equal(r.action, "resume");
    assert.ok(fs.existsSync(path.join(dir, "out.txt.partial")), "resume must not delete partial work");
    assert.ok(r.wall_s >= marker!.wall_s);
    assert.deepEqual(calls, ["fresh", "resume"]);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("runStage with --only: unselected stages must be done already", async () => {
  const dir = tmp();
  try {
    const calls: string[] = [];
    await assert.rejects(
      runStage(spec(dir, "h1", calls), { runsDir: dir, log: quiet, only: ["other"] }),
      /not done with the current config/,
    );
    await runStage(spec(dir, "h1", calls), { runsDir: dir, log: quiet });
    const r = await runStage(spec(dir, "h1", calls), { runsDir: dir, log: quiet, only: ["other"], force: true });
    assert.equal(r.action, "skip", "--force applies only to the stages --only selects");
    assert.deepEqual(calls, ["fresh"]);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("stage hashes chain: an SFT change redoes sft and later stages, a threshold change only analysis and report", () => {
  const base = stageHashes(ReproduceConfigSchema.parse({}));
  const sft = stageHashes(ReproduceConfigSchema.parse({ sft: { run: { train: { steps: 7 } } } }));
  assert.equal(sft.data, base.data);
  for (const s of ["sft", "rl", "eval", "analysis", "report"] as const) assert.notEqual(sft[s], base[s], s);
  const thr = stageHashes(ReproduceConfigSchema.parse({ claims: { freeLunchMinReduction: 0.5 } }));
  for (const s of ["data", "sft", "rl", "eval"] as const) assert.equal(thr[s], base[s], s);
  assert.notEqual(thr.analysis, base.analysis);
  assert.notEqual(thr.report, base.report);
  const paths = stageHashes(ReproduceConfigSchema.parse({ out: "elsewhere", runs: "x/y" }));
  assert.deepEqual(paths, base, "paths are not part of any hash");
});

test("the kernel set enters the hashes from sft on, and only when it is not the default wasm one", () => {
  const config = ReproduceConfigSchema.parse({});
  const base = stageHashes(config);
  assert.deepEqual(stageHashes(config, "wasm"), base, "the default keeps the committed hashes");
  const blas = stageHashes(config, "native");
  assert.equal(blas.data, base.data, "the data does not depend on the engine");
  for (const s of ["sft", "rl", "eval", "analysis", "report"] as const) assert.notEqual(blas[s], base[s], s);
});

test("the arithmetic fingerprint enters the hashes from sft on when given; without one (runs recorded before it) the hashes stay", () => {
  const config = ReproduceConfigSchema.parse({});
  const none = stageHashes(config, "native");
  assert.deepEqual(stageHashes(config, "native", undefined), none, "the committed summaries' hashes");
  const a = stageHashes(config, "native", "d6d52bffa6864d2c");
  const b = stageHashes(config, "native", "92aca109afc75578");
  assert.equal(a.data, none.data, "the data does not depend on the arithmetic");
  for (const s of ["sft", "rl", "eval", "analysis", "report"] as const) {
    assert.notEqual(a[s], none[s], s);
    assert.notEqual(a[s], b[s], s);
  }
});

test("sft.extend enters the hashes only when present: committed one-phase configs keep theirs; its examples redo data, its run only sft on", () => {
  // The hashes of the committed runs (docs/history/essential/summary.json, docs/history/learned/summary.json).
  const sections = loadConfig("configs/reproduce-essential.json", ReproduceConfigSchema);
  const h = stageHashes(sections);
  assert.deepEqual([h.data, h.sft, h.rl], ["efcee7f58b1db9ca", "ecef9ffbea2dee8e", "e57a0a36872a4d5c"]);
  const learned = stageHashes(loadConfig("configs/reproduce-learned.json", ReproduceConfigSchema));
  assert.deepEqual(
    [learned.data, learned.sft, learned.rl],
    ["efcee7f58b1db9ca", "be140e9a8e1fd5e7", "942ebd22f81b2c0e"],
  );
  const run = { ...sections.sft.run, model: { ...sections.sft.run.model, blockSize: 768 } };
  const ext = stageHashes(
    ReproduceConfigSchema.parse({ ...sections, sft: { ...sections.sft, extend: { groupSizes: [1, 8], run } } }),
  );
  for (const s of ["data", "sft", "rl"] as const) assert.notEqual(ext[s], h[s], s);
  const longer = { ...run, train: { ...run.train, steps: run.train.steps + 1 } };
  const ext2 = stageHashes(
    ReproduceConfigSchema.parse({ ...sections, sft: { ...sections.sft, extend: { groupSizes: [1, 8], run: longer } } }),
  );
  assert.equal(ext2.data, ext.data);
  assert.notEqual(ext2.sft, ext.sft);
  // The merged trace style, likewise: absent keeps the hashes, present redoes data and all after.
  const merged = stageHashes(
    ReproduceConfigSchema.parse({ ...sections, sft: { ...sections.sft, mix: { ...sections.sft.mix, merged: 0.2 } } }),
  );
  const mergedHalf = stageHashes(
    ReproduceConfigSchema.parse({
      ...sections,
      sft: { ...sections.sft, mix: { ...sections.sft.mix, merged: 0.2 }, merge: 0.3 },
    }),
  );
  assert.notEqual(merged.data, h.data);
  assert.notEqual(mergedHalf.data, merged.data);
});
