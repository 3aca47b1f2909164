import { isCorrect, reward } from "./common.js";
import type { RewardShaping } from "./types.js";

/**
 * kimi: Kimi k1.5 length reward (Kimi Team 2025, arXiv 2501.12599, section 2.3.3).
 * Per group: l = 0.5 - (len - min_len) / (max_len - min_len), l = 0 when max_len == min_len.
 * Correct responses get + weight * l, incorrect ones weight * min(0, l).
 *
 * With BCR's fractional accuracy:
 * - threshold = 0 (default): interpolate per problem, length = weight * (acc * l + (1 - acc) * min(0, l)),
 *   i.e. each solved problem earns the bonus and each failed one only the penalty. For acc in {0,1}
 *   this is exactly the paper's rule.
 * - threshold in (0,1]: binary, correct when acc >= threshold.
 */
export function kimiShaping(params: { weight: number; threshold: number }): RewardShaping {
  const { weight, threshold } = params;
  return {
    name: "kimi",
    params: { weight, threshold },
    shape(group) {
      const lens = group.map((r) => r.length);
      const lo = Math.min(...lens);
      const hi = Math.max(...lens);
      return group.map((r) => {
        const l = hi === lo ? 0 : 0.5 - (r.length - lo) / (hi - lo);
        const good = threshold > 0 ? (isCorrect(r, threshold) ? 1 : 0) : r.accuracy;
        return reward(r.accuracy, weight * (good * l + (1 - good) * Math.min(0, l)));
      });
    },
  };
}
