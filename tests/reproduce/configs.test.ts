/**
 * The committed reproduce configs: each variant holds only what it changes (`extends`), and
 * resolving it gives exactly the config it replaced: the stage hashes below were computed from
 * the full-copy files before they became variants, so a change to a base that silently moves a
 * variant fails here.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import { ReproduceConfigSchema } from "../../src/reproduce/config.js";
import { stageHashes } from "../../src/reproduce/pipeline.js";
import { loadConfig } from "../../src/util/config.js";

const PINNED: Record<string, { data: string; sft: string; rl: string }> = {
  // The schema's defaults spelled out: the default run until the decisive run replaced it.
  "reproduce-essential.json": { data: "efcee7f58b1db9ca", sft: "ecef9ffbea2dee8e", rl: "e57a0a36872a4d5c" },
  "reproduce-learned.json": { data: "efcee7f58b1db9ca", sft: "be140e9a8e1fd5e7", rl: "942ebd22f81b2c0e" },
  "reproduce-quick.json": { data: "a177127084002a01", sft: "56acee799547b641", rl: "d44d8d633f3e5092" },
  "reproduce-sections-packs8.json": { data: "375659dd5a995282", sft: "e0f6bf2009ce31a4", rl: "a89cd370f40b22ea" },
  "reproduce-sections-packs8-long.json": { data: "3179bdbb560c3ace", sft: "904780473ef7897d", rl: "a4e06702823ca549" },
  "reproduce-sections-packs8-nlist.json": { data: "3179bdbb560c3ace", sft: "904780473ef7897d", rl: "00afa32f26ff0d1f" },
  "reproduce-sections-packs8-n8.json": { data: "3179bdbb560c3ace", sft: "904780473ef7897d", rl: "07a1a80147b37b94" },
  // The default run, the decisive run of issue 20 (committed as reproduce-ladder.json until it became
  // the default); pinned from its full-copy file before it became a variant.
  // Since its SFT became data-parallel (train.workers 2); run with the native kernels, as the
  // committed results were, its sft hash onwards also carries the kernel set (sft 0d2aaa6f29b77b66).
  "reproduce.json": { data: "dc0168b126b5f4d2", sft: "b79d8c259a43d8b2", rl: "6ac576aeb3b82376" },
};

/** The one full file; every other reproduce config, the default included, holds only its changes. */
const BASE = "reproduce-essential.json";
const variants = fs
  .readdirSync("configs")
  .filter((f) => /^reproduce(-.*)?\.json$/.test(f) && f !== BASE)
  .sort();

test("every reproduce config but the base (the schema's defaults spelled out) extends another config and is under 40 lines", () => {
  assert.ok(variants.length >= 6, `found ${variants.join(", ")}`);
  for (const f of variants) {
    const text = fs.readFileSync(`configs/${f}`, "utf8");
    assert.equal(typeof JSON.parse(text).extends, "string", `${f} has no extends`);
    assert.ok(text.trimEnd().split("\n").length < 40, `${f} has ${text.split("\n").length} lines`);
  }
});

test("resolved configs keep their pinned stage hashes", () => {
  for (const f of Object.keys(PINNED)) {
    const h = stageHashes(loadConfig(`configs/${f}`, ReproduceConfigSchema));
    assert.deepEqual({ data: h.data, sft: h.sft, rl: h.rl }, PINNED[f], f);
  }
  for (const f of [...variants, BASE]) assert.ok(f in PINNED, `${f}: pin its stage hashes here`);
});

test("bcr reproduce --print-config prints the resolved config and runs nothing", () => {
  const r = spawnSync(
    process.execPath,
    [
      "--import",
      "tsx",
      "src/cli/main.ts",
      "reproduce",
      "--config",
      "configs/reproduce-sections-packs8-n8.json",
      "--print-config",
      "--set",
      "rl.steps=7",
    ],
    { encoding: "utf8" },
  );
  assert.equal(r.status, 0, r.stderr);
  const printed = JSON.parse(r.stdout);
  assert.deepEqual(
    printed,
    loadConfig("configs/reproduce-sections-packs8-n8.json", ReproduceConfigSchema, ["rl.steps=7"]),
  );
  assert.deepEqual(printed.rl.bcr.n, [3, 4, 6, 8]);
  assert.equal(printed.sft.extend?.run.train.steps, 400, "inherited from reproduce-sections-packs8-long.json");
});

test("the committed ladder run (docs/history/ladder/summary.json) carries the stage hashes of configs/reproduce.json under the kernel set and arithmetic it names", () => {
  const s = JSON.parse(fs.readFileSync("docs/history/ladder/summary.json", "utf8")) as {
    stage_hashes: Record<string, string>;
    backend_info?: { kernels?: { engine?: string } | null };
    arithmetic?: string;
  };
  const kernels = s.backend_info?.kernels?.engine ?? "wasm";
  assert.equal(kernels, "native", "the committed default run used the native kernels");
  // Recorded before the arithmetic fingerprint existed: its hashes are those without one.
  assert.equal(s.arithmetic, undefined);
  assert.deepEqual(
    s.stage_hashes,
    stageHashes(loadConfig("configs/reproduce.json", ReproduceConfigSchema), kernels, s.arithmetic),
  );
});
