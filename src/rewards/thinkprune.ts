import { reward } from "./common.js";
import type { RewardShaping, ShapingContext } from "./types.js";

/**
 * thinkprune: ThinkPrune (Hou et al. 2025, arXiv 2504.01296): a hard length cap; a response
 * longer than the cap gets reward 0 (length = -acc so total = 0), others keep their accuracy.
 * The cap is tightened in stages (the paper: 4k -> 3k -> 2k tokens): with `stages` S, stage
 * s = floor(S * step / totalSteps) (clamped to S-1) uses cap = maxLength * frac_s, frac going
 * linearly from startFrac (stage 0) to endFrac (stage S-1). Without step/totalSteps, stage 0.
 * A fixed `cap` (tokens) overrides the schedule.
 */
export function thinkpruneShaping(params: {
  cap?: number;
  startFrac: number;
  endFrac: number;
  stages: number;
}): RewardShaping {
  const shown: Record<string, number> =
    params.cap !== undefined
      ? { cap: params.cap }
      : { startFrac: params.startFrac, endFrac: params.endFrac, stages: params.stages };
  return {
    name: "thinkprune",
    params: shown,
    shape(group, ctx) {
      const cap = thinkpruneCap(params, ctx);
      return group.map((r) => reward(r.accuracy, r.length > cap ? -r.accuracy : 0));
    },
  };
}

/** The cap in force at ctx.step. */
export function thinkpruneCap(
  params: { cap?: number; startFrac: number; endFrac: number; stages: number },
  ctx: ShapingContext,
): number {
  if (params.cap !== undefined) return params.cap;
  const S = Math.max(1, Math.round(params.stages));
  let s = 0;
  if (ctx.step !== undefined && ctx.totalSteps !== undefined && ctx.totalSteps > 0) {
    s = Math.min(S - 1, Math.max(0, Math.floor((S * ctx.step) / ctx.totalSteps)));
  }
  const frac = S === 1 ? params.startFrac : params.startFrac + ((params.endFrac - params.startFrac) * s) / (S - 1);
  return ctx.maxLength * frac;
}
