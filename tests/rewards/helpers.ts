import assert from "node:assert/strict";
import type { RolloutForReward, ShapedReward } from "../../src/rewards/index.js";

export const ro = (accuracy: number, length: number, truncated = false): RolloutForReward => ({
  accuracy,
  length,
  truncated,
});

/** Totals match to 1e-9 and every reward keeps total = accuracy + length. */
export function assertTotals(got: ShapedReward[], want: number[]): void {
  assert.equal(got.length, want.length);
  got.forEach((r, i) => {
    assert.ok(Math.abs(r.total - want[i]!) < 1e-9, `reward ${i}: total ${r.total}, want ${want[i]}`);
    assert.ok(Math.abs(r.total - (r.accuracy + r.length)) < 1e-12, `reward ${i}: total != accuracy + length`);
  });
}
