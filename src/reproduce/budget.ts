/**
 * The budget rule: numbers the RL and eval stages derive from the data stage's statistics. BCR
 * runs get one tight response budget for the whole pack, budgetFactor x mean N x the mean
 * essential trace length (unless rl.bcr.budget fixes it); L1 runs that set no target length get
 * the mean essential trace length.
 */
import type { MethodSpec, ReproduceConfig } from "./config.js";
import type { DataStats } from "./data.js";

export interface Derived {
  meanEssentialTokens: number;
  /** Response budget of the bcr runs (whole response, n problems). */
  bcrBudget: number;
  /** Target length of l1 runs that set none. */
  targetLength: number;
}

const meanN = (n: number | number[]) => (Array.isArray(n) ? n.reduce((a, b) => a + b, 0) / n.length : n);

export function derive(config: ReproduceConfig, stats: DataStats): Derived {
  const b = config.rl.bcr;
  return {
    meanEssentialTokens: stats.meanEssentialTokens,
    // With N drawn from a list the budget stays fixed, as in the paper: larger N get less room each.
    bcrBudget: b.budget ?? Math.ceil(b.budgetFactor * meanN(b.n) * stats.meanEssentialTokens),
    targetLength: Math.max(1, Math.round(stats.meanEssentialTokens)),
  };
}

/**
 * A single run's own budget (the matched-budget control single@b<k>): a number, or the bcr budget
 * per problem, floor(bcr budget / mean bcr N). undefined when the method sets none.
 */
export function singleBudgetOf(method: MethodSpec, config: ReproduceConfig, derived: Derived): number | undefined {
  if (method.budget === undefined) return undefined;
  if (method.budget !== "bcr-per-problem") return method.budget;
  return Math.max(1, Math.floor(derived.bcrBudget / meanN(config.rl.bcr.n)));
}
