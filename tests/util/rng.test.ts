import { test } from "node:test";
import assert from "node:assert/strict";
import { Rng } from "../../src/util/rng.js";

test("same seed gives the same stream; a restored state continues it", () => {
  const a = new Rng(42);
  const b = new Rng(42);
  const xs = Array.from({ length: 5 }, () => a.next());
  assert.deepEqual(
    xs,
    Array.from({ length: 5 }, () => b.next()),
  );
  const saved = a.state;
  const cont = Array.from({ length: 5 }, () => a.next());
  const r = Rng.fromState(saved);
  assert.deepEqual(
    Array.from({ length: 5 }, () => r.next()),
    cont,
  );
  assert.notDeepEqual(xs, cont);
});

test("int stays inside its inclusive bounds and hits both ends", () => {
  const r = new Rng(1);
  const seen = new Set<number>();
  for (let i = 0; i < 2000; i++) {
    const v = r.int(3, 6);
    assert.ok(v >= 3 && v <= 6);
    seen.add(v);
  }
  assert.deepEqual([...seen].sort(), [3, 4, 5, 6]);
});

test("normal draws have mean ~0 and variance ~1", () => {
  const r = new Rng(7);
  const xs = Array.from({ length: 20000 }, () => r.normal());
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  const v = xs.reduce((a, b) => a + (b - mean) ** 2, 0) / xs.length;
  assert.ok(Math.abs(mean) < 0.03, `mean ${mean}`);
  assert.ok(Math.abs(v - 1) < 0.05, `var ${v}`);
});

test("weighted follows its weights and refuses all-zero weights", () => {
  const r = new Rng(3);
  const counts = [0, 0, 0];
  for (let i = 0; i < 10000; i++) counts[r.weighted([1, 0, 3])]!++;
  assert.equal(counts[1], 0);
  assert.ok(Math.abs(counts[2]! / 10000 - 0.75) < 0.03);
  assert.throws(() => r.weighted([0, 0]), /positive/);
});

test("weighted never returns a zero weight, even when rounding leaves the draw past the last one", () => {
  // With weights 0.3 and 0.7, the largest draw (1 - 2^-53) times their sum, minus each weight in
  // turn, is still >= 0 in floating point: the loop finds no index and the fallback decides.
  class Top extends Rng {
    override next(): number {
      return 1 - 2 ** -53;
    }
  }
  assert.equal(new Top(1).weighted([0.3, 0.7, 0]), 1);
  assert.equal(new Top(1).weighted([0.3, 0, 0.7, 0, 0]), 2);
  assert.equal(new Top(1).weighted([0.3, 0.7]), 1);
});
