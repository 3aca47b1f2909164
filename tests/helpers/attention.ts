/** Test helper for the two attention paths of the GPT (see src/model/attention.ts). */
import { attentionSettings } from "../../src/model/attention.js";

/** Runs f with the per-pair attention path forced on (every length) or off, then restores the setting. */
export function withPairwise<T>(on: boolean, f: () => T): T {
  const saved = attentionSettings.pairwiseMinLength;
  attentionSettings.pairwiseMinLength = on ? 1 : Infinity;
  try {
    return f();
  } finally {
    attentionSettings.pairwiseMinLength = saved;
  }
}
