import type { RolloutForReward, ShapedReward } from "./types.js";

/** Builds a reward from its two terms so that total = accuracy + length always holds. */
export function reward(accuracy: number, length: number): ShapedReward {
  const len = length === 0 ? 0 : length; // no -0 in logs
  return { total: accuracy + len, accuracy, length: len };
}

/**
 * "Correct" for shapings defined on right/wrong responses, given BCR's fractional accuracy:
 * a response is correct when accuracy >= threshold (default 1: every problem right). With one
 * problem per prompt accuracy is 0 or 1 and any threshold in (0,1] gives the paper's rule.
 */
export function isCorrect(r: RolloutForReward, threshold: number): boolean {
  return r.accuracy >= threshold - 1e-12;
}

export function mean(xs: number[]): number {
  return xs.length === 0 ? 0 : xs.reduce((a, b) => a + b, 0) / xs.length;
}

/** Population standard deviation. */
export function std(xs: number[]): number {
  const m = mean(xs);
  return Math.sqrt(mean(xs.map((x) => (x - m) ** 2)));
}
