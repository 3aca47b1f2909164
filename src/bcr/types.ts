/** One problem with its gold answer; `difficulty` is task-specific (synthetic: the level). */
export interface Problem {
  id: string;
  question: string;
  answer: string;
  difficulty?: number;
}

/**
 * How N problems are written into one prompt and how the response is expected to look.
 * - compact: the synthetic char-level language, e.g. prompt `1:47+8-15+6   2:9-3        \n`, response
 *   `1:a47+8=55 b55-15=40 c40+6=46 A46 2:a9-3=6 A6`.
 * - natural: for real models: an instruction, `### Problem k` sections, answers `Answer k: \boxed{...}`.
 */
export type TemplateName = "compact" | "natural";

export interface PackedPrompt {
  text: string;
  n: number;
  ids: string[];
  golds: string[];
  template: TemplateName;
}

/** Result of scoring one response to a packed prompt (see score.ts for the attribution rule). */
export interface ResponseScore {
  correct: boolean[];
  /** Mean per-problem correctness: the BCR reward. */
  accuracy: number;
  /** Number of problems with a parseable answer. */
  answered: number;
  /** answered / n, a format signal reported separately (never added to accuracy). */
  format: number;
  /** Response tokens attributed to each problem; sums to totalTokens. */
  tokensPerProblem: number[];
  totalTokens: number;
  truncated: boolean;
  /** With a per-problem cap (scoreResponse's perProblemCap): which problems ran over theirs and count as unanswered. */
  overCap?: boolean[];
}

/** One answer found in a response, with where it sits (character offsets, end exclusive). */
export interface FoundAnswer {
  index: number;
  value: string;
  start: number;
  end: number;
}
