import { reward } from "./common.js";
import type { RewardShaping } from "./types.js";

/**
 * dapo-overlong: DAPO soft overlong punishment (Yu et al. 2025, arXiv 2503.14476, eq. 13).
 * With L_max = ctx.maxLength and L_cache = cache:
 *   length = 0                                 if len <= L_max - L_cache
 *          = ((L_max - L_cache) - len) / L_cache if L_max - L_cache < len <= L_max
 *          = -1                                if len > L_max
 * cache is in tokens; when it is not given, cache = cacheFrac * maxLength (DAPO: 4096 of 20480 = 0.2).
 */
export function dapoOverlongShaping(params: { cache?: number; cacheFrac: number }): RewardShaping {
  const shown: Record<string, number> =
    params.cache !== undefined ? { cache: params.cache } : { cacheFrac: params.cacheFrac };
  return {
    name: "dapo-overlong",
    params: shown,
    shape(group, ctx) {
      const cache = params.cache ?? params.cacheFrac * ctx.maxLength;
      const free = ctx.maxLength - cache;
      return group.map((r) => {
        let len = 0;
        if (r.length > ctx.maxLength) len = -1;
        else if (r.length > free) len = cache > 0 ? (free - r.length) / cache : -1;
        return reward(r.accuracy, len);
      });
    },
  };
}
