import { reward } from "./common.js";
import type { RewardShaping } from "./types.js";

/**
 * linear: r = acc - lambda * len / maxLength.
 * The explicit length penalty the BCR paper (arXiv 2604.02322) reports collapsing
 * (r_len = -|y|/max_len at lambda = 1).
 */
export function linearShaping(params: { lambda: number }): RewardShaping {
  const { lambda } = params;
  return {
    name: "linear",
    params: { lambda },
    shape: (group, ctx) => group.map((r) => reward(r.accuracy, (-lambda * r.length) / ctx.maxLength)),
  };
}
