/** One response's inputs to a reward shaping. */
export interface RolloutForReward {
  /** In [0,1]: mean per-problem correctness (1/0 for a single problem). */
  accuracy: number;
  /** Response tokens. */
  length: number;
  truncated: boolean;
}
export interface ShapingContext {
  maxLength: number;
  step?: number;
  totalSteps?: number;
  targetLength?: number;
}
/** total = accuracy + length; `length` is the shaping's length term (0 or negative for most). */
export interface ShapedReward {
  total: number;
  accuracy: number;
  length: number;
}
export interface RewardShaping {
  name: string;
  params: Record<string, number>;
  /** `group` = the G responses to one prompt. Pure: same inputs, same output. */
  shape(group: RolloutForReward[], ctx: ShapingContext): ShapedReward[];
}
