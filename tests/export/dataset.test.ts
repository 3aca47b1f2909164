import { test } from "node:test";
import { tempDir } from "../helpers/tmp.js";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { parquetReadObjects } from "hyparquet";
import { answersOnlyResponse } from "../../src/bcr/index.js";
import type { Problem } from "../../src/bcr/types.js";
import { command } from "../../src/cli/commands/export-dataset.js";
import { exportProblems, groupProblems, type VerlRow } from "../../src/export/dataset.js";
import { getRewards } from "../../src/serve/reward-client.js";
import { startRewardServer } from "../../src/serve/reward-server.js";
import { readJsonl } from "../../src/util/fsx.js";

const tmp = () => tempDir("bcr-export-");
const bigintSafe = (v: unknown) => JSON.parse(JSON.stringify(v, (_k, x) => (typeof x === "bigint" ? Number(x) : x)));

async function readParquet(file: string): Promise<Record<string, unknown>[]> {
  const buf = fs.readFileSync(file);
  const ab = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength);
  return bigintSafe(await parquetReadObjects({ file: ab })) as Record<string, unknown>[];
}

test("grouping is seeded, uses every problem once, and balances mean difficulty", () => {
  const problems: Problem[] = Array.from({ length: 300 }, (_, i) => ({
    id: `p${i}`,
    question: `q${i}`,
    answer: `${i}`,
    difficulty: i % 10,
  }));
  const a = groupProblems(problems, { n: 3, seed: 1 });
  assert.deepEqual(a, groupProblems(problems, { n: 3, seed: 1 }));
  assert.notDeepEqual(a, groupProblems(problems, { n: 3, seed: 2 }));
  assert.equal(a.length, 100);
  assert.equal(new Set(a.flat().map((p) => p.id)).size, 300);
  const spread = (groups: Problem[][]) => {
    const means = groups.map((g) => g.reduce((s, p) => s + p.difficulty!, 0) / g.length);
    return Math.max(...means) - Math.min(...means);
  };
  const random = groupProblems(problems, { n: 3, seed: 1, grouping: "random" });
  assert.ok(spread(a) < spread(random), `balanced ${spread(a)} vs random ${spread(random)}`);
  assert.equal(groupProblems(problems.slice(0, 10), { n: 3, seed: 1 }).length, 3); // one left over
});

test("export-dataset (synthetic, N=3): JSONL and Parquet parse back; gold responses score 100% on the server", async () => {
  const dir = tmp();
  const server = await startRewardServer({ log: null });
  const log = console.log;
  console.log = () => {};
  try {
    const code = await command.run([
      "--out",
      dir,
      "--n",
      "3",
      "--source",
      "synthetic",
      "--count",
      "60",
      "--seed",
      "5",
      "--input-key",
      "prompt",
      "--label-key",
      "answers",
    ]);
    assert.equal(code, 0);
    const orl = readJsonl<Record<string, string>>(path.join(dir, "train.openrlhf.jsonl"));
    const verl = readJsonl<VerlRow>(path.join(dir, "train.verl.jsonl"));
    assert.equal(orl.length, 20);
    assert.deepEqual(await readParquet(path.join(dir, "train.openrlhf.parquet")), orl);
    assert.deepEqual(await readParquet(path.join(dir, "train.verl.parquet")), verl);
    const manifest = JSON.parse(fs.readFileSync(path.join(dir, "train.manifest.json"), "utf8"));
    assert.equal(manifest.prompts, 20);
    assert.equal(manifest.seed, 5);
    assert.deepEqual(
      fs.readdirSync(dir).filter((f) => f.endsWith(".tmp")),
      [],
    );

    // OpenRLHF layout: the configured keys, the natural template, a JSON-array label.
    for (const row of orl) {
      assert.match(row.prompt!, /### Problem 3/);
      assert.equal(JSON.parse(row.answers!).length, 3);
    }
    const golds = orl.map((r) => JSON.parse(r.answers!) as string[]);
    const perfect = await getRewards(server.url, {
      query: orl.map((r, i) => r.prompt + answersOnlyResponse(golds[i]!, "natural")),
      prompts: orl.map((r) => r.prompt!),
      labels: orl.map((r) => r.answers!),
    });
    assert.deepEqual(
      perfect.rewards,
      orl.map(() => 1),
    );
    // A wrong answer must cost reward (the labels really are checked).
    const wrong = await getRewards(server.url, {
      query: orl.map((r, i) => r.prompt + answersOnlyResponse([golds[i]![0]!, "-1", "-1"], "natural")),
      prompts: orl.map((r) => r.prompt!),
      labels: orl.map((r) => r.answers!),
    });
    assert.deepEqual(
      wrong.rewards,
      orl.map(() => 1 / 3),
    );

    // verl layout: chat prompt, rule reward_model, extra_info; ground truth scores 100% too.
    const v0 = verl[0]!;
    assert.equal(v0.data_source, "bcr/synthetic");
    assert.equal(v0.ability, "math");
    assert.equal(v0.reward_model.style, "rule");
    assert.deepEqual(
      v0.prompt.map((m: { role: string }) => m.role),
      ["user"],
    );
    assert.deepEqual(v0.extra_info.golds, JSON.parse(v0.reward_model.ground_truth));
    assert.equal(v0.prompt[0].content, orl[0]!.prompt);
    const vr = await getRewards(server.url, {
      responses: verl.map((r) => answersOnlyResponse(JSON.parse(r.reward_model.ground_truth), "natural")),
      prompts: verl.map((r) => r.prompt[0].content),
      labels: verl.map((r) => r.reward_model.ground_truth),
    });
    assert.deepEqual(
      vr.rewards,
      verl.map(() => 1),
    );
  } finally {
    console.log = log;
    await server.close();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("export from a problems file is deterministic for a seed", () => {
  const dir = tmp();
  try {
    const problems: Problem[] = Array.from({ length: 12 }, (_, i) => ({
      id: `g${i}`,
      question: `What is ${i} + ${i}?`,
      answer: `${2 * i}`,
    }));
    const a = exportProblems(problems, { outDir: path.join(dir, "a"), n: 4, seed: 9, formats: ["openrlhf"] });
    exportProblems(problems, { outDir: path.join(dir, "b"), n: 4, seed: 9, formats: ["openrlhf"] });
    assert.equal(a.prompts, 3);
    for (const f of ["train.openrlhf.jsonl", "train.openrlhf.parquet"]) {
      assert.ok(fs.readFileSync(path.join(dir, "a", f)).equals(fs.readFileSync(path.join(dir, "b", f))), f);
    }
    assert.equal(fs.existsSync(path.join(dir, "a", "train.verl.jsonl")), false);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("GSM8K export: the problems left over by the grouping (count mod N) are counted and named in the manifest and on the console", async () => {
  const dir = tmp();
  // 5 GSM8K records at N=3 reproduce the full test split's case (1,319 = 3 x 439 + 2): 2 fit in no group.
  const file = path.join(dir, "gsm.jsonl");
  fs.writeFileSync(
    file,
    Array.from({ length: 5 }, (_, i) =>
      JSON.stringify({ question: `Q${i}?`, answer: `${i}+1=<<${i}+1=${i + 1}>>${i + 1}\n#### ${i + 1}` }),
    ).join("\n") + "\n",
  );
  const log = console.log;
  const printed: string[] = [];
  console.log = (...a: unknown[]) => {
    printed.push(a.join(" "));
  };
  try {
    for (const source of ["gsm8k", "problems"]) {
      const out = path.join(dir, source);
      printed.length = 0;
      assert.equal(
        await command.run(["--out", out, "--n", "3", "--source", source, "--file", file, "--no-parquet"]),
        0,
      );
      const manifest = JSON.parse(fs.readFileSync(path.join(out, "train.manifest.json"), "utf8"));
      const exported = readJsonl<{ ids: string }>(path.join(out, "train.openrlhf.jsonl")).flatMap(
        (r) => JSON.parse(r.ids) as string[],
      );
      assert.equal(manifest.problems, 5);
      assert.equal(manifest.left_over.count, 2);
      // every problem is exported or named, none both
      const all =
        source === "gsm8k"
          ? ["gsm-1", "gsm-2", "gsm-3", "gsm-4", "gsm-5"]
          : ["gsm-0", "gsm-1", "gsm-2", "gsm-3", "gsm-4"];
      assert.deepEqual([...exported, ...manifest.left_over.ids].sort(), all);
      const line = printed.find((l) => /left over/.test(l));
      assert.ok(line && manifest.left_over.ids.every((id: string) => line.includes(id)), printed.join("\n"));
    }
    // --limit: the groups cut are named too, apart from the left-over ones
    const out = path.join(dir, "limited");
    assert.equal(
      await command.run([
        "--out",
        out,
        "--n",
        "2",
        "--source",
        "gsm8k",
        "--file",
        file,
        "--limit",
        "1",
        "--no-parquet",
      ]),
      0,
    );
    const m = JSON.parse(fs.readFileSync(path.join(out, "train.manifest.json"), "utf8"));
    assert.equal(m.prompts, 1);
    assert.equal(m.left_over.count, 1);
    assert.equal(m.unused_by_limit.count, 2);
  } finally {
    console.log = log;
  }
});

test("export-dataset: an empty problems file, or fewer problems than N, fails before anything is written", async () => {
  const dir = tmp();
  const empty = path.join(dir, "empty.jsonl");
  fs.writeFileSync(empty, "");
  const two = path.join(dir, "two.jsonl");
  fs.writeFileSync(
    two,
    [JSON.stringify({ question: "a", answer: "1" }), JSON.stringify({ question: "b", answer: "2" })].join("\n"),
  );
  for (const [source, file, message] of [
    ["problems", empty, `${empty}: no records`],
    ["gsm8k", empty, `${empty}: no records`],
    ["problems", two, "2 problem(s) make no group of n=3"],
  ]) {
    const out = path.join(dir, "out");
    await assert.rejects(command.run(["--out", out, "--n", "3", "--source", source!, "--file", file!]), (e: Error) =>
      e.message.startsWith(message!),
    );
    assert.equal(fs.existsSync(out), false);
  }
});
