import { test } from "node:test";
import { tempDir } from "../helpers/tmp.js";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import {
  findReproduceOutputs,
  quickRunsHash,
  quickSettings,
  SFT_DONE,
  trainQuickRuns,
} from "../../src/notebook/quick.js";
import { RlConfigSchema } from "../../src/rl/config.js";
import { parseConfig } from "../../src/util/config.js";

function touch(file: string, text = "{}") {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, text);
}

test("findReproduceOutputs: nothing there -> nulls and empty lists", () => {
  const root = tempDir("bcr-nb-");
  try {
    assert.deepEqual(findReproduceOutputs(root), {
      sft: null,
      rl: null,
      rlRuns: [],
      sweeps: [],
      data: null,
      levels: null,
      claims: null,
      summary: null,
      demoSft: null,
      model: null,
      results: null,
      rows: null,
    });
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test("findReproduceOutputs: the layout bcr reproduce writes, only finished pieces", () => {
  const root = tempDir("bcr-nb-");
  try {
    const runs = path.join(root, "runs", "reproduce");
    touch(path.join(runs, "sft", "checkpoints", "latest"), "step-10");
    touch(path.join(runs, ".reproduce", "sft.json"), JSON.stringify({ status: "running" }));
    touch(path.join(runs, "rl", "bcr", "seed-0", "summary.json"));
    touch(path.join(runs, "rl", "linear@1", "seed-1", "summary.json"));
    touch(path.join(runs, "rl", "single", "seed-0", "config.json")); // still training: no summary.json
    touch(path.join(runs, "eval", "sft", "sweep", "summary.json"));
    touch(path.join(runs, "eval", "sft", "n1", "summary.json"));
    touch(path.join(runs, "eval", "bcr", "seed-0", "sweep", "summary.json"));
    touch(path.join(runs, "eval", "bcr", "seed-1", "sweep", "cache.jsonl")); // unfinished sweep
    touch(path.join(runs, "data", "manifest.json"), JSON.stringify({ generator: { levels: [5, 6] } }));
    let out = findReproduceOutputs(root);
    assert.deepEqual(out.levels, [5, 6]);
    assert.equal(out.data, path.join(runs, "data"));
    assert.equal(out.sft, null, "the sft stage is still running");
    assert.deepEqual(out.rlRuns, [path.join(runs, "rl", "bcr", "seed-0"), path.join(runs, "rl", "linear@1", "seed-1")]);
    assert.equal(out.rl, path.join(runs, "rl"));
    assert.deepEqual(out.sweeps, [
      { method: "bcr", seed: 0, dir: path.join(runs, "eval", "bcr", "seed-0", "sweep") },
      { method: "sft", seed: null, dir: path.join(runs, "eval", "sft", "sweep") },
    ]);
    assert.equal(out.claims, null);
    touch(path.join(runs, ".reproduce", "sft.json"), JSON.stringify({ status: "done" }));
    const ladder = path.join(root, "docs", "history", "ladder");
    touch(path.join(ladder, "claims.json"));
    touch(path.join(ladder, "summary.json"));
    touch(path.join(root, "results", "models", "sft", "config.json"));
    touch(path.join(ladder, "eval-rows.jsonl.gz"), "");
    out = findReproduceOutputs(root);
    assert.equal(out.rows, path.join(ladder, "eval-rows.jsonl.gz"), "the committed eval rows and training logs");
    assert.equal(out.sft, path.join(runs, "sft"));
    assert.equal(out.model, out.sft);
    assert.equal(out.claims, path.join(ladder, "claims.json"));
    assert.equal(out.summary, path.join(ladder, "summary.json"));
    assert.equal(out.demoSft, path.join(root, "results", "models", "sft"));
    assert.equal(out.results, ladder, "docs/history/ladder/ with a summary.json is there to read");
    fs.rmSync(runs, { recursive: true });
    assert.equal(
      findReproduceOutputs(root).model,
      path.join(root, "results", "models", "sft"),
      "the demo checkpoint when there is no run",
    );
  } finally {
    fs.rmSync(root, { recursive: true, force: true });
  }
});

test("quickSettings: the three RL kinds parse, labelled single, bcr, linear@1", () => {
  for (const quick of [true, false]) {
    const s = quickSettings(quick);
    const labels = s.kinds.map(
      (k) => parseConfig({ ...s.rl, ...k, name: k.kind, init: "x" }, RlConfigSchema, "test").method,
    );
    assert.deepEqual(labels, ["single", "bcr", "linear@1"]);
  }
});

test("quickRunsHash: fixed per setting, different between QUICK and small settings", () => {
  assert.match(quickRunsHash(true), /^[0-9a-f]{12}$/);
  assert.equal(quickRunsHash(true), quickRunsHash(true));
  assert.notEqual(quickRunsHash(true), quickRunsHash(false));
});

test("trainQuickRuns reuses a finished SFT model (done marker) under its settings' hash, and returns the layout", async () => {
  const out = tempDir("bcr-nb-");
  try {
    const dir = path.join(out, `quick-${quickRunsHash(true)}`);
    touch(path.join(dir, "sft", "checkpoints", "latest"), "step-120");
    touch(path.join(dir, "sft", SFT_DONE));
    // A finished run made with other settings (another hash, or the old flat layout) is not reused for these.
    touch(path.join(out, "quick-000000000000", "sft", SFT_DONE));
    touch(path.join(out, "sft", SFT_DONE));
    const lines: string[] = [];
    const r = await trainQuickRuns(out, { rl: false, log: (l) => lines.push(l) });
    assert.deepEqual(r, {
      dir,
      hash: quickRunsHash(true),
      sft: path.join(dir, "sft"),
      rl: path.join(dir, "rl"),
      runs: [],
      levels: quickSettings(true).levels,
    });
    assert.deepEqual(lines, [
      `sft: reusing the finished run in ${path.join(dir, "sft")} (settings ${quickRunsHash(true)})`,
    ]);
  } finally {
    fs.rmSync(out, { recursive: true, force: true });
  }
});

test("trainQuickRuns never reuses a run cut off before its end, and says so", async () => {
  const out = tempDir("bcr-nb-");
  try {
    const dir = path.join(out, `quick-${quickRunsHash(true)}`);
    touch(path.join(dir, "sft", "checkpoints", "latest"), "step-1065"); // a timeout at step 1065 of 1500: no done marker
    await assert.rejects(
      trainQuickRuns(out, { rl: false, log: null }),
      /holds an unfinished SFT run \(no done\.json.*not reused/,
    );
    touch(path.join(dir, "sft", SFT_DONE));
    const s = quickSettings(true);
    const single = parseConfig({ ...s.rl, ...s.kinds[0], name: "single", init: "x" }, RlConfigSchema, "test");
    touch(path.join(dir, "rl", `single-s${single.seed}`, "config.json")); // an RL run without summary.json
    await assert.rejects(
      trainQuickRuns(out, { log: null }),
      /rl.single-s\d+ holds an unfinished RL run \(no summary\.json/,
    );
  } finally {
    fs.rmSync(out, { recursive: true, force: true });
  }
});

test("trainQuickRuns with the small (full) settings trains only when asked, and names the notebook's switch", async () => {
  const out = tempDir("bcr-nb-");
  try {
    await assert.rejects(
      trainQuickRuns(out, { quick: false, log: null }),
      /tens of minutes: nothing was trained.*npx bcr reproduce.*TRAIN_SMALL = true.*train: true/,
    );
    assert.deepEqual(fs.readdirSync(out), [], "nothing written");
  } finally {
    fs.rmSync(out, { recursive: true, force: true });
  }
});
