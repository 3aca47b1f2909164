/**
 * The one token estimator, and the counters built on it. Text arrives without token ids in three
 * places: the reward server (length-aware shapings), scoring a response of a real model
 * (src/bcr/score.ts, non-compact templates) and an endpoint that reports no usage counts
 * (src/eval/openai-client.ts). All three count here.
 *
 * - `estimate` (default): a one-pass approximation of a byte-level BPE tokenizer of the
 *   Qwen2/Qwen3/DeepSeek-R1-Distill family (the models in the paper): every digit is one token
 *   (those tokenizers split numbers into single digits), a run of letters is ceil(len/5)
 *   tokens (a leading space merges into the word, so spaces are free), every other visible
 *   character (punctuation, LaTeX backslashes, braces, non-ASCII) is one token, and a run of
 *   newlines is one token. On English math text it lands within roughly +-25% of the real
 *   count: an ESTIMATE. Clients that know the exact counts send `response_lengths`.
 * - `chars`: one token per character, exact for this project's character-level models
 *   (src/model/tokenizer.ts, CharTokenizer).
 */
export type TokenCounterName = "estimate" | "chars";
export const TOKEN_COUNTERS: readonly TokenCounterName[] = ["estimate", "chars"];

export function estimateTokens(text: string): number {
  let tokens = 0;
  let letters = 0;
  let newlineRun = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    const isLetter = (c >= 65 && c <= 90) || (c >= 97 && c <= 122);
    if (isLetter) {
      letters++;
      newlineRun = false;
      continue;
    }
    if (letters > 0) {
      tokens += Math.ceil(letters / 5);
      letters = 0;
    }
    if (c === 10) {
      if (!newlineRun) tokens++;
      newlineRun = true;
      continue;
    }
    newlineRun = false;
    if (c === 32 || c === 9 || c === 13) continue;
    // A surrogate pair is one character (and, as an estimate, one token).
    if (c >= 0xd800 && c <= 0xdbff) i++;
    tokens++;
  }
  if (letters > 0) tokens += Math.ceil(letters / 5);
  return tokens;
}

/** One token per character: exact for this project's character-level models. */
export function countChars(text: string): number {
  return text.length;
}

export function makeTokenCounter(name: string): (text: string) => number {
  if (name === "estimate") return estimateTokens;
  if (name === "chars") return countChars;
  throw new Error(`unknown token counter '${name}' (expected one of: ${TOKEN_COUNTERS.join(", ")})`);
}
