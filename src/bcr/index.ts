/** BCR core: pack N problems into one prompt, extract and score the answers in a response. */
export type { Problem, TemplateName, PackedPrompt, ResponseScore, FoundAnswer } from "./types.js";
export {
  packProblems,
  formatAnswer,
  answersOnlyResponse,
  withTargetLength,
  withTargetPerProblem,
  TEMPLATES,
} from "./templates.js";
export {
  extractAnswers,
  findAnswers,
  findSections,
  matchBrace,
  detectTemplate,
  type ExtractOptions,
} from "./extract.js";
export { answersMatch, normalizeAnswer, parseNumber } from "./answers.js";
export { scoreResponse, withinCap } from "./score.js";
export { countChars, estimateTokens, makeTokenCounter, TOKEN_COUNTERS, type TokenCounterName } from "./tokens.js";
