/**
 * Reward shapings: BCR's plain accuracy and the length-control baselines, all as pure,
 * group-aware functions returning {total, accuracy, length} with total = accuracy + length.
 * Build one by name with makeShaping(name, params); each file names its formula and source.
 */
import { accuracyShaping } from "./accuracy.js";
import { dapoOverlongShaping } from "./dapo-overlong.js";
import { efficientShaping } from "./efficient.js";
import { kimiShaping } from "./kimi.js";
import { l1ExactShaping } from "./l1-exact.js";
import { l1MaxShaping } from "./l1-max.js";
import { linearShaping } from "./linear.js";
import { shorterBetterShaping } from "./shorter-better.js";
import { thinkpruneShaping } from "./thinkprune.js";
import type { RewardShaping } from "./types.js";

export type { RolloutForReward, ShapingContext, ShapedReward, RewardShaping } from "./types.js";
export { thinkpruneCap } from "./thinkprune.js";

interface Spec {
  /** Parameters with their defaults. */
  defaults: Record<string, number>;
  /** Parameters with no default (the shaping falls back to something else when absent). */
  optional?: string[];
  build(p: Record<string, number>): RewardShaping;
}

// Each build receives the defaults merged with the caller's checked values, so the casts are sound.
const SPECS: Record<string, Spec> = {
  accuracy: { defaults: {}, build: () => accuracyShaping() },
  linear: { defaults: { lambda: 1 }, build: (p) => linearShaping(p as { lambda: number }) },
  kimi: {
    defaults: { weight: 1, threshold: 0 },
    build: (p) => kimiShaping(p as { weight: number; threshold: number }),
  },
  efficient: {
    defaults: { alpha: 0.2, threshold: 1 },
    build: (p) => efficientShaping(p as { alpha: number; threshold: number }),
  },
  "l1-exact": { defaults: { alpha: 0.0003 }, build: (p) => l1ExactShaping(p as { alpha: number }) },
  "l1-max": { defaults: { alpha: 0.0003 }, build: (p) => l1MaxShaping(p as { alpha: number }) },
  "dapo-overlong": {
    defaults: { cacheFrac: 0.2 },
    optional: ["cache"],
    build: (p) => dapoOverlongShaping(p as { cache?: number; cacheFrac: number }),
  },
  thinkprune: {
    defaults: { startFrac: 1, endFrac: 0.5, stages: 3 },
    optional: ["cap"],
    build: (p) => thinkpruneShaping(p as { cap?: number; startFrac: number; endFrac: number; stages: number }),
  },
  "shorter-better": {
    defaults: { beta: 0.001, threshold: 1 },
    build: (p) => shorterBetterShaping(p as { beta: number; threshold: number }),
  },
};

export const SHAPINGS: readonly string[] = Object.freeze(Object.keys(SPECS));

/** Builds a shaping by name; unknown names or parameters, and non-finite values, throw an Error listing the valid ones. */
export function makeShaping(name: string, params: Record<string, number> = {}): RewardShaping {
  const spec = SPECS[name];
  if (!spec) throw new Error(`unknown reward shaping '${name}'; valid shapings: ${SHAPINGS.join(", ")}`);
  const valid = [...Object.keys(spec.defaults), ...(spec.optional ?? [])];
  for (const [k, v] of Object.entries(params)) {
    if (!valid.includes(k)) {
      throw new Error(
        `reward shaping '${name}' has no parameter '${k}'; valid parameters: ${valid.length ? valid.join(", ") : "(none)"}`,
      );
    }
    if (typeof v !== "number" || !Number.isFinite(v)) {
      throw new Error(`reward shaping '${name}': parameter '${k}' must be a finite number, got ${String(v)}`);
    }
  }
  return spec.build({ ...spec.defaults, ...params });
}
