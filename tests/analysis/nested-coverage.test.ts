/**
 * Coverage of the three-level bootstrap (src/analysis/nested.ts) on synthetic scores with a known
 * mean and known variance at every level:
 *   x[i][j][p] = mu + a_i (SFT seed) + b_ij (RL seed) + c_p (problem, shared by all models) + noise
 * Each replicate draws a fresh data set, builds the 95% interval, and counts whether it holds mu.
 * Beside it, the two-level interval that ignores the SFT level (the S x R runs flattened into
 * independent "seeds", hierarchical.ts) on the same data sets.
 *
 * Measured (200 replicates, 300 resamples, seeded: what these tests compute; in parentheses a
 * one-off run by hand with 2000 replicates, 1000 for the 8-seed case):
 *   balanced (sd 0.2 / 0.3 / 1 / 1, 3 x 2 x 64):   three-level 0.935 (0.933), two-level 0.920 (0.905)
 *   SFT-dominated (sd 1 / 0.2 / 0.5 / 0.5):         three-level 0.780 (0.739), two-level 0.625 (0.633)
 *   SFT-dominated, 8 SFT seeds x 2 x 32 (150 reps): three-level 0.900 (0.907), two-level 0.753 (0.789)
 * The SFT-dominated three-level figure is under the nominal 0.95, and that is not a bug: with 3
 * SFT seeds the percentile interval is about [min, max] of the three SFT means (1/27 of the
 * resamples draw the lowest three times), which holds the mean with probability 1 - 2/8 = 0.75.
 * What the third level buys is the honest width: ignoring it treats two RL runs of one SFT model
 * as two independent SFT draws and covers clearly less. The cure for the rest is more SFT seeds.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { hierarchicalMeanCI } from "../../src/analysis/hierarchical.js";
import { nestedMeanCI } from "../../src/analysis/nested.js";
import { Rng } from "../../src/util/rng.js";

interface Sds {
  sft: number;
  rl: number;
  problem: number;
  noise: number;
}

function coverage(sd: Sds, S: number, R: number, P: number, replicates: number, resamples: number) {
  const r = new Rng(11);
  const mu = 0.5;
  let three = 0,
    two = 0;
  for (let t = 0; t < replicates; t++) {
    const c = Array.from({ length: P }, () => sd.problem * r.normal());
    const x = Array.from({ length: S }, () => {
      const a = sd.sft * r.normal();
      return Array.from({ length: R }, () => {
        const b = sd.rl * r.normal();
        return c.map((cp) => mu + a + b + cp + sd.noise * r.normal());
      });
    });
    const covers = (ci: [number, number]) => Number(ci[0] <= mu && mu <= ci[1]);
    three += covers(nestedMeanCI(x, { seed: t, resamples }).ci);
    two += covers(hierarchicalMeanCI(x.flat(), { seed: t, resamples }).ci);
  }
  return { three: three / replicates, two: two / replicates };
}

test("balanced levels, 3 SFT x 2 RL x 64 problems: the three-level interval covers near nominal", () => {
  const c = coverage({ sft: 0.2, rl: 0.3, problem: 1, noise: 1 }, 3, 2, 64, 200, 300);
  assert.ok(c.three >= 0.88 && c.three <= 0.99, `three-level coverage ${c.three}`);
  assert.ok(c.three >= c.two, `${JSON.stringify(c)}`);
});

test("SFT-dominated: 3 SFT seeds under-cover (about 0.75, see the header); ignoring the SFT level covers clearly less", () => {
  const c = coverage({ sft: 1, rl: 0.2, problem: 0.5, noise: 0.5 }, 3, 2, 64, 200, 300);
  assert.ok(c.three >= 0.68 && c.three <= 0.85, `three-level coverage ${c.three}`);
  assert.ok(c.two <= 0.7, `two-level coverage ${c.two}`);
  assert.ok(c.three - c.two >= 0.08, `${JSON.stringify(c)}`);
});

test("SFT-dominated with 8 SFT seeds: the three-level interval recovers, the two-level one does not", () => {
  const c = coverage({ sft: 1, rl: 0.2, problem: 0.5, noise: 0.5 }, 8, 2, 32, 150, 300);
  assert.ok(c.three >= 0.85, `three-level coverage ${c.three}`);
  assert.ok(c.three - c.two >= 0.08, `${JSON.stringify(c)}`);
});
