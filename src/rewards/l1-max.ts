import { reward } from "./common.js";
import { requireTarget } from "./l1-exact.js";
import type { RewardShaping } from "./types.js";

/**
 * l1-max: L1 / LCPO-Max (Aggarwal & Welleck 2025, arXiv 2503.04697), as a penalty on overshoot only:
 * r = acc - alpha * max(0, len - n_gold), n_gold = ctx.targetLength (tokens).
 * (The paper's own Max form is acc * clip(alpha * (n_gold - len) + delta, 0, 1); we keep the
 * additive form so that total = accuracy + length like every other shaping.)
 */
export function l1MaxShaping(params: { alpha: number }): RewardShaping {
  const { alpha } = params;
  return {
    name: "l1-max",
    params: { alpha },
    shape: (group, ctx) => {
      const target = requireTarget(ctx, "l1-max");
      return group.map((r) => reward(r.accuracy, -alpha * Math.max(0, r.length - target)));
    },
  };
}
