import { test } from "node:test";
import assert from "node:assert/strict";
import { extractAnswers } from "../../src/bcr/index.js";
import { countLoops, stepLabel, trace } from "../../src/tasks/index.js";
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

test("step letters: a for the first operation, then b, c, ...; 26 at most", () => {
  assert.deepEqual([0, 1, 4, 25].map(stepLabel), ["a", "b", "e", "z"]);
  assert.throws(() => stepLabel(26), /0\.\.25/);
  assert.equal(trace("9-1+2-3+4-5", "6", "essential", new Rng(1)), "a9-1=8 b8+2=10 c10-3=7 d7+4=11 e11-5=6 A6");
});

test("re-checks only repeat steps already done", () => {
  const rng = new Rng(2);
  for (let i = 0; i < 200; i++) {
    const parts = trace("10+5+5-3-2", "15", "redundant", rng).split(" ");
    parts.forEach((w, j) => {
      if (w === "chk") assert.ok(parts.slice(0, j).includes(parts[j + 1]!), parts.join(" "));
    });
    assert.deepEqual(extractAnswers(`1:${parts.join(" ")}`, 1), ["15"]);
  }
});

test("countLoops counts chk as a word", () => {
  assert.equal(countLoops("1:3+4=7 chk 3+4=7 chk 3+4=7 A7 2:chk A1"), 3);
  assert.equal(countLoops("xchk chkx A5"), 0);
  assert.equal(countLoops(""), 0);
});
