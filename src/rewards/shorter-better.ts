import { isCorrect, mean, reward } from "./common.js";
import type { RewardShaping } from "./types.js";

/**
 * shorter-better: ShorterBetter (Yi et al. 2025, arXiv 2504.21370).
 * Sample Optimal Length (SOL) = length of the shortest correct response in the group, or the
 * group's mean length when none is correct. r = acc - beta * |len - SOL| (paper: alpha * 1[correct]
 * - beta * |len - SOL| with beta = 0.001 per token; our correctness term is acc, alpha = 1).
 * "Correct" for SOL: acc >= threshold (default 1).
 */
export function shorterBetterShaping(params: { beta: number; threshold: number }): RewardShaping {
  const { beta, threshold } = params;
  return {
    name: "shorter-better",
    params: { beta, threshold },
    shape(group) {
      const correct = group.filter((r) => isCorrect(r, threshold)).map((r) => r.length);
      const sol = correct.length > 0 ? Math.min(...correct) : mean(group.map((r) => r.length));
      return group.map((r) => reward(r.accuracy, -beta * Math.abs(r.length - sol)));
    },
  };
}
