import { reward } from "./common.js";
import type { RewardShaping, ShapingContext } from "./types.js";

/**
 * l1-exact: L1 / LCPO-Exact (Aggarwal & Welleck 2025, arXiv 2503.04697).
 * The prompt states a target length n_gold (see withTargetLength in src/bcr); the reward is
 * r = acc - alpha * |n_gold - len|, len and n_gold in tokens (paper: alpha = 0.0003).
 * The target comes from ctx.targetLength.
 */
export function l1ExactShaping(params: { alpha: number }): RewardShaping {
  const { alpha } = params;
  return {
    name: "l1-exact",
    params: { alpha },
    shape: (group, ctx) => {
      const target = requireTarget(ctx, "l1-exact");
      return group.map((r) => reward(r.accuracy, -alpha * Math.abs(target - r.length)));
    },
  };
}

export function requireTarget(ctx: ShapingContext, name: string): number {
  const t = ctx.targetLength;
  if (t === undefined || !Number.isFinite(t) || t <= 0) {
    throw new Error(
      `${name}: ctx.targetLength must be a positive number of tokens (the length stated in the prompt), got ${t}`,
    );
  }
  return t;
}
