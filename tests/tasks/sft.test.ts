import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { scoreResponse } from "../../src/bcr/index.js";
import { buildSftExamples, countLoops, generateProblems } from "../../src/tasks/index.js";

const problems = generateProblems(9, 300, [1, 2, 3, 4]);
const byId = new Map(problems.map((p) => [p.id, p]));

test("SFT examples use the group sizes, and their responses score 100%", () => {
  const ex = buildSftExamples(problems, { count: 200, groupSizes: [1, 2, 8], seed: 4 });
  assert.equal(ex.length, 200);
  assert.deepEqual(new Set(ex.map((e) => e.n)), new Set([1, 2, 8]));
  for (const e of ex) {
    assert.equal(e.ids.length, e.n);
    assert.match(e.prompt, /^1:\d/);
    const s = scoreResponse(
      e.response,
      e.ids.map((id) => byId.get(id)!.answer),
    );
    assert.equal(s.accuracy, 1, e.response);
    assert.equal(countLoops(e.response) > 0, e.styles.includes("redundant"));
  }
  assert.deepEqual(
    buildSftExamples(problems, { count: 5, groupSizes: [3], seed: 4 }),
    buildSftExamples(problems, { count: 5, groupSizes: [3], seed: 4 }),
  );
});

test("the style mixture follows its weights; shortcutMaxLevel limits shortcuts", () => {
  const ex = buildSftExamples(problems, {
    count: 400,
    groupSizes: [4],
    seed: 1,
    mix: { essential: 1, redundant: 0, shortcut: 3 },
  });
  const styles = ex.flatMap((e) => e.styles);
  const frac = styles.filter((s) => s === "shortcut").length / styles.length;
  assert.ok(Math.abs(frac - 0.75) < 0.04, `shortcut fraction ${frac}`);
  assert.ok(!styles.includes("redundant"));
  const lim = buildSftExamples(problems, {
    count: 200,
    groupSizes: [4],
    seed: 1,
    mix: { essential: 1, redundant: 0, shortcut: 3 },
    shortcutMaxLevel: 1,
  });
  for (const e of lim) e.styles.forEach((s, i) => assert.ok(s !== "shortcut" || byId.get(e.ids[i]!)!.difficulty === 1));
  assert.throws(() => buildSftExamples(problems, { count: 1, groupSizes: [0], seed: 1 }), /groupSizes/);
  assert.throws(
    () =>
      buildSftExamples(problems, {
        count: 1,
        groupSizes: [2],
        seed: 1,
        mix: { essential: 0, redundant: 0, shortcut: 0 },
      }),
    /positive sum/,
  );
});

test("8 problems with essential traces fit a 512-char context at every level", () => {
  for (const level of [1, 2, 3, 4]) {
    const ex = buildSftExamples(generateProblems(level, 400, [level]), {
      count: 100,
      groupSizes: [8],
      seed: 2,
      mix: { essential: 1, redundant: 0, shortcut: 0 },
    });
    const mean = ex.reduce((a, e) => a + e.prompt.length + e.response.length, 0) / ex.length;
    assert.ok(mean < 460, `level ${level}: mean ${mean}`);
  }
});

test("the merged style is drawn only when weighted: mixes without it give the same examples as before it existed", () => {
  const base = { count: 300, groupSizes: [1, 3], seed: 5 } as const;
  const mix = { essential: 0.1, redundant: 0.8, shortcut: 0.1 };
  const a = buildSftExamples(problems, { ...base, mix });
  assert.deepEqual(buildSftExamples(problems, { ...base, mix: { ...mix, merged: 0 } }), a);
  assert.ok(!a.some((e) => e.styles.includes("merged")));
  // Pinned: these 300 examples as generated before the merged style existed (sha256 of their JSON).
  assert.equal(createHash("sha256").update(JSON.stringify(a)).digest("hex").slice(0, 16), "f356bdc4c1147269");
  const m = buildSftExamples(problems, { ...base, mix: { ...mix, merged: 1 }, merge: 1 });
  const styles = m.flatMap((e) => e.styles);
  const share = styles.filter((s) => s === "merged").length / styles.length;
  assert.ok(Math.abs(share - 0.5) < 0.06, `merged share ${share}`);
  for (const e of m) {
    assert.equal(
      scoreResponse(
        e.response,
        e.ids.map((id) => byId.get(id)!.answer),
      ).accuracy,
      1,
      e.response,
    );
    e.styles.forEach((s, i) => {
      if (s !== "merged") return;
      const section = e.response.split(/ (?=\d+:)/)[i]!;
      assert.equal(section.split(" ").length, 2, `merge 1: one step and the answer: ${section}`);
    });
  }
});
