import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { extractAnswers, scoreResponse } from "../../src/bcr/index.js";
import {
  buildSftExamples,
  countLoops,
  generateProblems,
  operationFetches,
  parseTrace,
  scoreTrace,
  stepLabel,
  trace,
  traceStyleOf,
  TRACE_STYLES,
  type StyleMix,
} from "../../src/tasks/index.js";
import { Rng } from "../../src/util/rng.js";

test("the three trace styles", () => {
  const rng = new Rng(1);
  assert.equal(trace("47+8-15+6", "46", "essential", rng), "a47+8=55 b55-15=40 c40+6=46 A46");
  assert.equal(trace("47+8-15+6", "46", "shortcut", rng), "A46");
  const r = trace("47+8-15+6", "46", "redundant", rng, { loops: [2, 2] });
  assert.equal(countLoops(r), 2);
  // removing the re-checks gives back the essential trace
  assert.equal(r.replace(/ chk \S+/g, ""), "a47+8=55 b55-15=40 c40+6=46 A46");
});

test("step symbols: a-e for the first problem of a pack, f-j for the second, ...; never A", () => {
  assert.deepEqual(
    [0, 1, 4].map((j) => stepLabel(j)),
    ["a", "b", "e"],
  );
  assert.deepEqual(
    [0, 4].map((j) => stepLabel(j, 1)),
    ["f", "j"],
  );
  assert.equal(stepLabel(0, 5), "z");
  assert.equal(stepLabel(0, 6), "F"); // a-z are indices 0-25, then B is 26: index 30 is F
  assert.equal(stepLabel(4, 9), "Y"); // the 50th symbol; Z is spare
  assert.throws(() => stepLabel(5), /0\.\.4/);
  assert.throws(() => stepLabel(0, 10), /0\.\.9/);
  const all = Array.from({ length: 10 }, (_, k) => Array.from({ length: 5 }, (_, j) => stepLabel(j, k))).flat();
  assert.equal(new Set(all).size, 50, "every (problem, operation) pair has its own symbol");
  assert.ok(!all.includes("A"), "A marks the answer");
  assert.equal(trace("9-1+2-3+4-5", "6", "essential", new Rng(1)), "a9-1=8 b8+2=10 c10-3=7 d7+4=11 e11-5=6 A6");
  assert.equal(trace("9-1+2", "10", "essential", new Rng(1), { position: 2 }), "k9-1=8 l8+2=10 A10");
  assert.throws(() => trace("1+1+1+1+1+1+1", "7", "essential", new Rng(1)), /operation index/);
});

test("a re-check repeats the step just before it, so the next step starts from the same value", () => {
  const rng = new Rng(2);
  for (let i = 0; i < 200; i++) {
    const parts = trace("10+5+5-3-2", "15", "redundant", rng, { position: 1 }).split(" ");
    parts.forEach((w, j) => {
      if (w === "chk") assert.equal(parts[j + 1], parts[j - 1], parts.join(" "));
    });
    // drop the re-checks and the essential trace is left
    assert.equal(parts.join(" ").replace(/ chk \S+/g, ""), "f10+5=15 g15+5=20 h20-3=17 i17-2=15 A15");
    assert.deepEqual(extractAnswers(`1:${parts.join(" ")}`, 1), ["15"]);
  }
});

test("countLoops counts chk as a word", () => {
  assert.equal(countLoops("1:3+4=7 chk 3+4=7 chk 3+4=7 A7 2:chk A1"), 3);
  assert.equal(countLoops("xchk chkx A5"), 0);
  assert.equal(countLoops(""), 0);
});

test("operationFetches: per problem, steps whose symbol names the operation they copied", () => {
  // problem 1 `7+2-8`: a copies +2 (right), chk a +2 (right), b copies +8 (wrong sign).
  // problem 2 `3-1`: f copies -1 (right); g names a 2nd operation that problem 2 lacks (wrong);
  // a (problem 1's symbol) inside problem 2 is wrong too. Section 3 is outside the pack: ignored.
  const response = "1:a7+2=9 chk a7+2=9 b9+8=7 A7 2:f3-1=2 g2-1=1 a1+2=3 A3 3:k1+1=2 A2";
  assert.deepEqual(operationFetches(response, ["7+2-8", "3-1"]), [
    [2, 3],
    [1, 3],
  ]);
  // a response built from the traces themselves fetches everything
  const rng = new Rng(3);
  const qs = ["4+5-2", "9-3+1-7"];
  const full = qs.map((q, k) => `${k + 1}:${trace(q, "0", "redundant", rng, { position: k })}`).join(" ");
  const [[r1, t1], [r2, t2]] = operationFetches(full, qs);
  assert.ok(t1 >= 2 && t2 >= 3);
  assert.equal(r1, t1);
  assert.equal(r2, t2);
  assert.deepEqual(operationFetches("no sections here", qs), [
    [0, 0],
    [0, 0],
  ]);
});

test("merged traces: each step folds in later operations with the chance given, keeps its first symbol, and its value is right", () => {
  const q = "47+8-15+6-3";
  const essential = trace(q, "43", "essential", new Rng(1));
  assert.equal(trace(q, "43", "merged", new Rng(1), { merge: 0 }), essential, "merge 0: the essential trace");
  assert.equal(trace(q, "43", "merged", new Rng(1), { merge: 1 }), "a47+8-15+6-3=43 A43", "merge 1: one step");
  assert.equal(trace(q, "43", "merged", new Rng(1), { merge: 1, position: 1 }), "f47+8-15+6-3=43 A43");
  assert.throws(() => trace(q, "43", "merged", new Rng(1), { merge: 1.5 }), /merge must be in \[0, 1\], got 1.5/);
  // At the default chance: every step's arithmetic checks out (evaluated here, independently of
  // solveSteps), each step starts from the previous step's value, and folds happen about half the time.
  const rng = new Rng(7);
  let steps = 0,
    folds = 0,
    shorter = 0;
  for (let i = 0; i < 400; i++) {
    const t = trace(q, "43", "merged", rng);
    assert.match(t, / A43$/);
    let value = 47,
      symbol = 0;
    for (const step of t.split(" ").slice(0, -1)) {
      const m = step.match(/^([a-e])(\d+)((?:[+-]\d+)+)=(\d+)$/);
      assert.ok(m, step);
      assert.equal(Number(m[2]), value, `${t}: ${step} starts from ${value}`);
      assert.equal(m[1], "abcde"[symbol], `${t}: ${step} keeps its first operation's symbol`);
      const ops = m[3]!.match(/[+-]\d+/g)!;
      value = ops.reduce((v, o) => v + Number(o), value);
      assert.equal(Number(m[4]), value, step);
      symbol += ops.length;
      steps++;
      folds += ops.length - 1;
    }
    assert.equal(symbol, 4, "every operation appears once");
    if (t.length < essential.length) shorter++;
  }
  assert.equal(steps + folds, 1600);
  assert.ok(Math.abs(folds / 1200 - 0.5) < 0.05, `fold rate ${folds / 1200}`);
  // Shorter than the essential trace unless none of the 3 boundaries folds (chance 1/8).
  assert.ok(Math.abs(shorter / 400 - 0.875) < 0.05, `shorter ${shorter / 400}`);
});

test("traceStyleOf names the style a section was written in, hand examples and generated traces", () => {
  assert.equal(traceStyleOf("a47+8=55 b55-15=40 c40+6=46 A46"), "essential");
  assert.equal(traceStyleOf("a47+8=55 chk a47+8=55 b55-15=40 A40"), "redundant");
  assert.equal(traceStyleOf("a47+8-15=40 c40+6=46 A46"), "merged");
  assert.equal(traceStyleOf("k0+9-3=6 chk k0+9-3=6 A6"), "merged", "merged wins over a re-check");
  assert.equal(traceStyleOf("A46"), "shortcut");
  assert.equal(traceStyleOf(""), "shortcut", "an empty section: no steps");
  assert.equal(traceStyleOf("xchk a4+1=5 A5"), "essential", "chk only as a word");
  // Generated traces of every style at every pack position come back as their style; a merged
  // trace in which no step folded is an essential one.
  const rng = new Rng(3);
  for (let i = 0; i < 200; i++) {
    const style = TRACE_STYLES[i % TRACE_STYLES.length]!;
    const t = trace("7+2-9+9-5", "4", style, rng, { position: i % 8, loops: [1, 3] });
    const folded = style === "merged" && t !== trace("7+2-9+9-5", "4", "essential", rng, { position: i % 8 });
    assert.equal(traceStyleOf(t), style === "merged" && !folded ? "essential" : style, t);
  }
});

test("the ladder's terse and bare forms: hand examples, each shorter than the one above it", () => {
  const rng = new Rng(1);
  const q = "47+8-15+6";
  assert.equal(trace(q, "46", "terse", rng), "a=55 b=40 c=46 A46");
  assert.equal(trace(q, "46", "bare", rng), "55 40 46 A46");
  assert.equal(trace(q, "46", "terse", rng, { position: 1 }), "f=55 g=40 h=46 A46");
  assert.equal(
    trace(q, "46", "bare", rng, { position: 1 }),
    "55 40 46 A46",
    "no symbols: the k: header tells problems apart",
  );
  const lengths = (["redundant", "essential", "terse", "bare", "shortcut"] as const).map(
    (st) => trace(q, "46", st, new Rng(2), { loops: [1, 1] }).length,
  );
  for (let i = 1; i < lengths.length; i++) assert.ok(lengths[i]! < lengths[i - 1]!, `${lengths}`);
});

test("traceStyleOf and parseTrace recognise the terse and bare forms, alone, with a header, and mixed", () => {
  assert.equal(traceStyleOf("a=55 b=40 c=46 A46"), "terse");
  assert.equal(traceStyleOf("55 40 46 A46"), "bare");
  assert.equal(traceStyleOf("1:a=55 A55"), "terse", "a one-step response with its header");
  assert.equal(traceStyleOf("1:55 A55"), "bare");
  assert.equal(traceStyleOf("1:A55"), "shortcut");
  assert.equal(traceStyleOf("a47+8=55 b=40 46 A46"), "essential", "a mix is named by its longest form");
  assert.equal(traceStyleOf("a=55 40 A40"), "terse");
  const p = parseTrace("a47+8=55 chk a47+8=55 b=40 46 c40+6-1=45 A45");
  assert.deepEqual(
    p.steps.map((s) => [s.form, s.symbol, s.result, s.recheck]),
    [
      ["full", "a", 55, false],
      ["full", "a", 55, true],
      ["terse", "b", 40, false],
      ["bare", null, 46, false],
      ["merged", "c", 45, false],
    ],
  );
  assert.deepEqual(p.steps[4]!.ops, ["+6", "-1"]);
  assert.equal(p.answer, "45");
  assert.deepEqual(parseTrace("junk A1 A2"), { steps: [], answer: "2" });
});

test("scoreTrace checks every form's steps against the problem; extractAnswers and scoreResponse score every form", () => {
  const q = "47+8-15+6";
  // right steps in each form
  for (const [section, form] of [
    ["a47+8=55 b55-15=40 c40+6=46 A46", "full"],
    ["a=55 b=40 c=46 A46", "terse"],
    ["55 40 46 A46", "bare"],
  ] as const) {
    const s = scoreTrace(section, q, "46");
    assert.deepEqual(s.steps[form], [3, 3], section);
    assert.equal(s.answerRight, true);
  }
  // wrong values, a wrong symbol, a wrong copied operand
  assert.deepEqual(scoreTrace("a=55 b=41 c=46 A46", q, "46").steps.terse, [2, 3]);
  assert.deepEqual(scoreTrace("a=55 c=40 A40", q, "46"), {
    steps: { full: [0, 0], merged: [0, 0], terse: [1, 2], bare: [0, 0] },
    answerRight: false,
  });
  assert.deepEqual(scoreTrace("a47+9=55 A55", q, "46").steps.full, [0, 1]);
  // bare values are placed by their count among the steps before them, after any form
  assert.deepEqual(scoreTrace("a47+8-15=40 46 A46", q, "46").steps, {
    full: [0, 0],
    merged: [1, 1],
    terse: [0, 0],
    bare: [1, 1],
  });
  assert.deepEqual(scoreTrace("55 46 A46", q, "46").steps.bare, [1, 2], "a skipped step shifts the count");
  // a terse step of the second problem of a pack uses f-j
  assert.deepEqual(scoreTrace("f=55 g=40 h=46 A46", q, "46", 1).steps.terse, [3, 3]);
  assert.deepEqual(scoreTrace("a=55 A55", q, "46", 1).steps.terse, [0, 1]);

  // Generated traces of every style, packed: extractAnswers finds each answer, every step is right.
  const rng = new Rng(4);
  const qs = [
    ["7+2-9+9-5", "4"],
    ["3+5", "8"],
    ["9-1+2-3", "7"],
  ] as const;
  for (const style of TRACE_STYLES) {
    const sections = qs.map(([qq, a], i) => trace(qq, a, style, rng, { position: i, loops: [1, 2] }));
    const response = sections.map((t, i) => `${i + 1}:${t}`).join(" ");
    assert.deepEqual(
      extractAnswers(response, 3),
      qs.map(([, a]) => a),
      response,
    );
    assert.deepEqual(
      scoreResponse(
        response,
        qs.map(([, a]) => a),
      ).correct,
      [true, true, true],
      response,
    );
    sections.forEach((t, i) => {
      const sc = scoreTrace(t, qs[i]![0], qs[i]![1], i);
      for (const [form, [right, all]] of Object.entries(sc.steps)) assert.equal(right, all, `${style} ${form}: ${t}`);
      assert.ok(sc.answerRight);
      assert.equal(traceStyleOf(t), style === "merged" && !/[+-]\d+[+-]/.test(t) ? "essential" : style, t);
    });
  }
});

test("SFT data without the new styles is byte-identical to before them (hashes computed with the code before terse and bare)", () => {
  const probs = generateProblems(5, 300, [5, 6, 7, 8]);
  const hash = (mix?: StyleMix) =>
    createHash("sha256")
      .update(JSON.stringify(buildSftExamples(probs, { count: 400, groupSizes: [1, 2, 3, 4], seed: 2, mix })))
      .digest("hex")
      .slice(0, 16);
  assert.equal(hash(), "f29c99a89da7c980");
  assert.equal(hash({ essential: 0.1, redundant: 0.8, shortcut: 0.1, merged: 0.2 }), "ba50180b4adb39d7");
  // With the ladder in the mix, every style appears, each example's styles as drawn.
  const ex = buildSftExamples(probs, {
    count: 300,
    groupSizes: [1, 2, 4, 8],
    seed: 2,
    mix: { essential: 0.2, redundant: 0.2, shortcut: 0.1, terse: 0.25, bare: 0.25 },
  });
  const styles = ex.flatMap((e) => e.styles);
  for (const st of ["essential", "redundant", "shortcut", "terse", "bare"] as const)
    assert.ok(styles.filter((s) => s === st).length > 0.05 * styles.length, st);
  assert.ok(!styles.includes("merged"));
  for (const e of ex) {
    const sections = e.response.split(/ (?=\d+:)/);
    assert.deepEqual(
      sections.map((s) => traceStyleOf(s.replace(/^\d+:/, ""))),
      e.styles,
      e.response,
    );
  }
});
