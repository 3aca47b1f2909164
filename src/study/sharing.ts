/**
 * Experiment B's question, pre-registered: does sharing one budget over a pack matter? bcr (one
 * shared budget B for N problems) against bcr-split (the same total split into equal per-problem
 * caps B/N), both on packs that mix easy and hard problems. No length-control method tests this,
 * and it is what would make BCR more than a length penalty.
 *
 * Two halves, each on aligned bootstrap resamples (one joint draw, src/analysis/nested.ts):
 *   a) moreOnHard: the hard-minus-easy tokens per problem of bcr exceed bcr-split's
 *      (gap_bcr - gap_split has its interval above 0): with a shared budget the model moves tokens
 *      to the hard problems;
 *   b) buysAccuracy: bcr's accuracy on hard problems exceeds bcr-split's (interval above 0).
 * held when both hold, partially when one does, not held when neither does.
 */
import {
  type Estimate,
  fmtEstimate,
  fromHalves,
  joinParts,
  type RuleResult,
  type Sampled,
  sampledEstimate,
} from "./verdict.js";

export interface SharingInput {
  bcr: { gap: Sampled; hardAccuracy: Sampled };
  split: { gap: Sampled; hardAccuracy: Sampled };
  level?: number;
}

export interface SharingResult extends RuleResult {
  gapDiff: Estimate;
  hardAccuracyDiff: Estimate;
}

export function sharingRule(input: SharingInput): SharingResult {
  const level = input.level ?? 0.95;
  const gapDiff = sampledEstimate(([a, b]) => a! - b!, [input.bcr.gap, input.split.gap], level);
  const hardAccuracyDiff = sampledEstimate(
    ([a, b]) => a! - b!,
    [input.bcr.hardAccuracy, input.split.hardAccuracy],
    level,
  );
  const parts = {
    moreOnHard: {
      held: gapDiff.ci[0] > 0,
      figure: `hard-minus-easy tokens/problem, bcr - bcr-split ${fmtEstimate(gapDiff)} (needs the interval above 0)`,
    },
    buysAccuracy: {
      held: hardAccuracyDiff.ci[0] > 0,
      figure: `accuracy on hard problems, bcr - bcr-split ${fmtEstimate(hardAccuracyDiff)} (needs the interval above 0)`,
    },
  };
  return { verdict: fromHalves(parts), figure: joinParts(parts), parts, gapDiff, hardAccuracyDiff };
}
