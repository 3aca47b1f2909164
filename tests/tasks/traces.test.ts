import { test } from "node:test";
import assert from "node:assert/strict";
import { extractAnswers } from "../../src/bcr/index.js";
import { countLoops, operationFetches, stepLabel, trace, traceStyleOf, TRACE_STYLES } from "../../src/tasks/index.js";
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
  assert.deepEqual([0, 1, 4].map((j) => stepLabel(j)), ["a", "b", "e"]);
  assert.deepEqual([0, 4].map((j) => stepLabel(j, 1)), ["f", "j"]);
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
  assert.deepEqual(operationFetches(response, ["7+2-8", "3-1"]), [[2, 3], [1, 3]]);
  // a response built from the traces themselves fetches everything
  const rng = new Rng(3);
  const qs = ["4+5-2", "9-3+1-7"];
  const full = qs.map((q, k) => `${k + 1}:${trace(q, "0", "redundant", rng, { position: k })}`).join(" ");
  const [[r1, t1], [r2, t2]] = operationFetches(full, qs);
  assert.ok(t1 >= 2 && t2 >= 3);
  assert.equal(r1, t1);
  assert.equal(r2, t2);
  assert.deepEqual(operationFetches("no sections here", qs), [[0, 0], [0, 0]]);
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
  let steps = 0, folds = 0, shorter = 0;
  for (let i = 0; i < 400; i++) {
    const t = trace(q, "43", "merged", rng);
    assert.match(t, / A43$/);
    let value = 47, symbol = 0;
    for (const step of t.split(" ").slice(0, -1)) {
      const m = step.match(/^([a-e])(\d+)((?:[+-]\d+)+)=(\d+)$/);
      assert.ok(m, step);
      assert.equal(Number(m[2]), value, `${t}: ${step} starts from ${value}`);
      assert.equal(m[1], "abcde"[symbol], `${t}: ${step} keeps its first operation's symbol`);
      const ops = m[3]!.match(/[+-]\d+/g)!;
      value = ops.reduce((v, o) => v + Number(o), value);
      assert.equal(Number(m[4]), value, step);
      symbol += ops.length;
      steps++; folds += ops.length - 1;
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
