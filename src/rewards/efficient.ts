import { isCorrect, mean, reward, std } from "./common.js";
import type { RewardShaping } from "./types.js";

/**
 * efficient: Arora & Zanette, "Training Language Models to Reason Efficiently" (2025, arXiv 2502.04463).
 * Correct responses get 1 - alpha * sigmoid((len - mean_c) / std_c), with mean_c and std_c over
 * the group's correct responses; incorrect ones get 0.
 *
 * With BCR's fractional accuracy: statistics over responses with acc >= threshold (default 1);
 * every response gets acc * (1 - alpha * sigmoid(z)), so length = -acc * alpha * sigmoid(z)
 * (exactly the paper's rule for acc in {0,1}). std_c = 0 (one correct response, or equal
 * lengths) gives z = 0. No correct response in the group: no length term.
 */
export function efficientShaping(params: { alpha: number; threshold: number }): RewardShaping {
  const { alpha, threshold } = params;
  return {
    name: "efficient",
    params: { alpha, threshold },
    shape(group) {
      const lens = group.filter((r) => isCorrect(r, threshold)).map((r) => r.length);
      if (lens.length === 0) return group.map((r) => reward(r.accuracy, 0));
      const m = mean(lens);
      const s = std(lens);
      return group.map((r) => {
        const z = s > 0 ? (r.length - m) / s : 0;
        return reward(r.accuracy, -r.accuracy * alpha * sigmoid(z));
      });
    },
  };
}

function sigmoid(x: number): number {
  return 1 / (1 + Math.exp(-x));
}
