import { reward } from "./common.js";
import type { RewardShaping } from "./types.js";

/**
 * accuracy: r = acc, no length term. This is BCR's reward (Yang et al. 2026, arXiv 2604.02322):
 * the mean per-problem correctness; the packed prompt's shared token cap is the only budget.
 */
export function accuracyShaping(): RewardShaping {
  return {
    name: "accuracy",
    params: {},
    shape: (group) => group.map((r) => reward(r.accuracy, 0)),
  };
}
