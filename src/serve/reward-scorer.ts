/**
 * Scores one batch of reward-server items: parse each response against its gold answers
 * (src/bcr scoreResponse), then apply the chosen reward shaping (src/rewards) per group.
 *
 * Groups: group-aware shapings (kimi, efficient, shorter-better) need the G responses to one
 * prompt together. The batch's items are grouped by identical prompt text, in order of first
 * appearance, and each group is shaped on its own. OpenRLHF keeps the n_samples_per_prompt
 * responses of a prompt next to each other and in one request when a single server URL is
 * used; a group split over two requests is shaped as two smaller groups.
 *
 * Length: the client's `response_lengths` when sent, else the server's token counter (an
 * estimate unless it is exact for the model, see src/bcr/tokens.ts). Truncated: the client's
 * `truncated` when sent; else false when the response ends in an end-of-sequence marker, else
 * length >= maxLength.
 */
import { scoreResponse } from "../bcr/index.js";
import type { ResponseScore, TemplateName } from "../bcr/types.js";
import type { RewardShaping, RolloutForReward, ShapingContext } from "../rewards/index.js";
import { stripEos, type RewardRequest } from "./reward-protocol.js";

export interface ScorerConfig {
  shaping: RewardShaping;
  template: TemplateName;
  /** The shared response budget in tokens (ShapingContext.maxLength). */
  maxLength: number;
  countTokens: (text: string) => number;
  targetLength?: number;
  totalSteps?: number;
}

/** Per-item details, returned under "details" (OpenRLHF ignores the key). */
export interface ItemDetail extends ResponseScore {
  /** The shaped reward and its components: total = accuracy + length. */
  reward: { total: number; accuracy: number; length: number };
  /** Index of the item's prompt group within this request. */
  group: number;
}

/**
 * The response body. `rewards` is what every OpenRLHF version reads; newer versions also read
 * `scores` (0-1, used by dynamic filtering: here the accuracy) and `extra_logs` (per-item
 * numbers, logged to wandb). `details` is ours.
 */
export interface RewardResponse {
  rewards: number[];
  scores: number[];
  extra_logs: Record<string, number[]>;
  details: ItemDetail[];
}

export function scoreBatch(req: RewardRequest, cfg: ScorerConfig): RewardResponse {
  const n = req.items.length;
  const details: ItemDetail[] = new Array(n);
  const rollouts: RolloutForReward[] = new Array(n);
  const groupOf = new Map<string, number>();
  const members: number[][] = [];

  for (let i = 0; i < n; i++) {
    const item = req.items[i]!;
    const { text, stopped } = stripEos(item.response);
    // Truncation is decided before parsing, so the inferred flag drops an unfinished last
    // answer exactly as a client-sent `truncated: true` does (OpenRLHF never sends it).
    const counted = cfg.countTokens(text);
    const totalTokens = item.length ?? counted;
    const truncated = item.truncated ?? (!stopped && totalTokens >= cfg.maxLength);
    const s = scoreResponse(text, item.golds, { template: cfg.template, countTokens: cfg.countTokens, truncated });
    let g = groupOf.get(item.prompt);
    if (g === undefined) {
      g = members.length;
      groupOf.set(item.prompt, g);
      members.push([]);
    }
    members[g]!.push(i);
    rollouts[i] = { accuracy: s.accuracy, length: totalTokens, truncated };
    details[i] = {
      correct: s.correct,
      accuracy: s.accuracy,
      answered: s.answered,
      format: s.format,
      tokensPerProblem: rescale(s.tokensPerProblem, s.totalTokens, totalTokens),
      totalTokens,
      truncated,
      reward: { total: 0, accuracy: 0, length: 0 },
      group: g,
    };
  }

  const ctx: ShapingContext = { maxLength: cfg.maxLength };
  if (cfg.targetLength !== undefined) ctx.targetLength = cfg.targetLength;
  if (req.step !== undefined) ctx.step = req.step;
  const totalSteps = req.totalSteps ?? cfg.totalSteps;
  if (totalSteps !== undefined) ctx.totalSteps = totalSteps;
  for (const idx of members) {
    const shaped = cfg.shaping.shape(
      idx.map((i) => rollouts[i]!),
      ctx,
    );
    idx.forEach((i, k) => {
      const r = shaped[k]!;
      details[i]!.reward = { total: r.total, accuracy: r.accuracy, length: r.length };
    });
  }

  const rewards = details.map((d) => d.reward.total);
  return {
    rewards,
    scores: details.map((d) => d.accuracy),
    extra_logs: {
      bcr_accuracy: details.map((d) => d.accuracy),
      bcr_format: details.map((d) => d.format),
      bcr_response_tokens: details.map((d) => d.totalTokens),
      bcr_truncated: details.map((d) => (d.truncated ? 1 : 0)),
      bcr_reward_length: details.map((d) => d.reward.length),
    },
    details,
  };
}

/** Per-problem attribution scaled proportionally to a client-supplied total. */
function rescale(parts: number[], from: number, to: number): number[] {
  if (from === to || parts.length === 0) return parts;
  if (from <= 0) return parts.map(() => to / parts.length);
  return parts.map((p) => (p * to) / from);
}
