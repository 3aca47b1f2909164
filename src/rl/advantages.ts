/**
 * Group-relative advantages (GRPO, DeepSeekMath arXiv 2402.03300):
 *
 *   A_i = (r_i - mean_g(r)) / (std_g(r) + eps)        advNorm = "std"   (GRPO, DAPO)
 *   A_i =  r_i - mean_g(r)                             advNorm = "none"  (Dr. GRPO)
 *
 * where g is the group of G responses to one prompt. std is the population standard
 * deviation (divide by G), as in most GRPO implementations.
 *
 * For the gradient diagnostics a shaped reward r = r_acc + r_len is split into two
 * advantages that add up to A exactly, because mean is linear and both parts share the
 * group's denominator:
 *
 *   A_acc_i = (r_acc_i - mean(r_acc)) / (std(r) + eps),  A_len_i = (r_len_i - mean(r_len)) / (std(r) + eps)
 *
 * At the first optimisation pass (ratio = 1, no clipping active) the surrogate's gradient is
 * linear in A, so grad = grad(A_acc) + grad(A_len) and the cosine between the two parts says
 * whether the accuracy term and the length term pull the weights the same way.
 */
export type AdvantageNorm = "std" | "none";

export interface GroupAdvantages {
  total: number[];
  accuracy: number[];
  length: number[];
  /** True when every reward in the group is equal: the group carries no learning signal. */
  zeroVariance: boolean;
}

export function groupAdvantages(
  rewards: { total: number; accuracy: number; length: number }[],
  norm: AdvantageNorm = "std",
  eps = 1e-6,
): GroupAdvantages {
  const g = rewards.length;
  if (g === 0) throw new Error("groupAdvantages: empty group");
  const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const tot = rewards.map((r) => r.total);
  const acc = rewards.map((r) => r.accuracy);
  const len = rewards.map((r) => r.length);
  const mTot = mean(tot);
  const std = Math.sqrt(tot.reduce((a, x) => a + (x - mTot) ** 2, 0) / g);
  const denom = norm === "std" ? std + eps : 1;
  const mAcc = mean(acc);
  const mLen = mean(len);
  return {
    total: tot.map((x) => (x - mTot) / denom),
    accuracy: acc.map((x) => (x - mAcc) / denom),
    length: len.map((x) => (x - mLen) / denom),
    zeroVariance: std < 1e-12,
  };
}

export interface AdvantageStats {
  /** Share of groups whose rewards are all equal (no gradient from them). */
  zeroVarFrac: number;
  /** Share of fully correct responses (accuracy = 1) whose total advantage is negative. */
  negCorrectFrac: number;
  mean: number;
  std: number;
  absMean: number;
}

/** Statistics over a batch of groups; `correct[i][j]` marks response j of group i fully correct. */
export function advantageStats(groups: GroupAdvantages[], correct: boolean[][]): AdvantageStats {
  const all = groups.flatMap((g) => g.total);
  const n = all.length;
  const mean = n ? all.reduce((a, b) => a + b, 0) / n : 0;
  const std = n ? Math.sqrt(all.reduce((a, x) => a + (x - mean) ** 2, 0) / n) : 0;
  let correctCount = 0;
  let negCorrect = 0;
  groups.forEach((g, i) =>
    g.total.forEach((a, j) => {
      if (correct[i]?.[j]) {
        correctCount++;
        if (a < -1e-9) negCorrect++;
      }
    }),
  );
  return {
    zeroVarFrac: groups.length ? groups.filter((g) => g.zeroVariance).length / groups.length : 0,
    negCorrectFrac: correctCount ? negCorrect / correctCount : 0,
    mean,
    std,
    absMean: n ? all.reduce((a, b) => a + Math.abs(b), 0) / n : 0,
  };
}
