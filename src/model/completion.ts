/**
 * The one interface every evaluated model speaks: a batch of completion requests in, one
 * completion per request out, in the same order. Batch in, so a local model can sample the
 * whole batch in one `generate` call and a remote client can run the requests concurrently.
 *
 * A model never throws for one bad item: it returns that item with `finishReason: "error"`
 * and the message, so a sweep records it as failed and moves on.
 */
export interface CompletionRequest {
  prompt: string;
  /** Hard cap on generated tokens for this request. */
  maxTokens: number;
  /** Sampling temperature (0 = greedy). Default: the model's default (1 for local models). */
  temperature?: number;
  /** Nucleus sampling mass (1 = off). */
  topP?: number;
  /** Strings that end the completion; the returned text stops before the first one. */
  stop?: string[];
  /** Seed for sampling; same seed -> same output, whatever else is sampled alongside. */
  seed?: number;
  /**
   * Return the log-probability of each generated token and of the `logprobs` most likely
   * alternatives at each step (0: the sampled token's only). Unset: none.
   */
  logprobs?: number;
}

/** One generated token with its log-probability (temperature 1, no top-p) and the top alternatives. */
export interface TokenLogProb {
  token: string;
  logprob: number;
  top: { token: string; logprob: number }[];
}

export type FinishReason = "stop" | "length" | "error";

export interface Completion {
  text: string;
  /** Tokens generated (exact for local models and endpoints that report `usage`). */
  completionTokens: number;
  promptTokens?: number;
  /** "stop": ended on EOS or a stop string; "length": hit maxTokens; "error": failed (see `error`). */
  finishReason: FinishReason;
  /** True when completionTokens is an estimate (endpoint without usage counts): src/bcr/tokens.ts estimateTokens. */
  tokensEstimated: boolean;
  error?: string;
  /** With CompletionRequest.logprobs: one entry per token of `text`. */
  logprobs?: TokenLogProb[];
}

export interface CompletionModel {
  /** Identifies the model in result rows and caches (e.g. "local:runs/x/ckpt", "openai:qwen3-4b"). */
  readonly name: string;
  complete(requests: CompletionRequest[], opts?: { signal?: AbortSignal }): Promise<Completion[]>;
}

/** A failed completion, as models return it instead of throwing. */
export function errorCompletion(message: string): Completion {
  return { text: "", completionTokens: 0, finishReason: "error", tokensEstimated: false, error: message };
}
