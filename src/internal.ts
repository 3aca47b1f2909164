/**
 * The toolkit's internals, for tools and experiments that need the pieces under a public verb:
 * one GRPO step and its parts, checkpoint files, the answer finder's pieces, trace parsing,
 * figure traces, notebook display bundles. Compiled: `dist/internal.js` (`bcr-toolkit/internal`).
 * These names may change without notice; notebooks never import them (tests/index.test.ts).
 * Nothing here is also exported by src/index.ts.
 */

// Tensors: the tfjs namespace the backend was started with.
export { tf } from "./engine/backend.js";

// One GRPO step in the order it runs: draw prompts, sample, advantages, surrogate, periodic eval.
export { rlStep, drawPrompts, sampleRollouts, type Rollout } from "./rl/grpo.js";
export { groupAdvantages, advantageStats, type GroupAdvantages, type AdvantageStats } from "./rl/advantages.js";
export { grpoSurrogate, grpoSurrogateReference, type SurrogateConfig, type Aggregation } from "./rl/loss.js";
export { evaluatePolicy, type PolicyEval } from "./rl/evaluate.js";
export { thinkpruneCap } from "./rewards/thinkprune.js";

// Run folders: checkpoint files and the raw model loader under loadLocalModel.
export {
  saveCheckpoint,
  loadCheckpoint,
  restoreCheckpoint,
  latestCheckpoint,
  CheckpointError,
} from "./run/checkpoint.js";
export { checkpointsDir } from "./run/files.js";
export { loadLocal } from "./train/load-local.js";
export { parseConfig } from "./util/config.js";

// BCR pieces: grouping and scoring for a sweep, the answer finder's parts, target-length prompts.
export { planGroups, scoreGroup, type PlannedGroup } from "./bcr/groups.js";
export { findAnswers, findSections, matchBrace } from "./bcr/extract.js";
export { normalizeAnswer, parseNumber } from "./bcr/answers.js";
export { formatAnswer, answersOnlyResponse, withTargetLength, withTargetPerProblem } from "./bcr/templates.js";
export { countChars, makeTokenCounter, TOKEN_COUNTERS } from "./bcr/tokens.js";

// The synthetic task's parts: levels, steps, trace parsing and scoring.
export { VALUE_MAX, levelConfig, solveSteps, stepText, type Step } from "./tasks/synthetic.js";
export {
  OPS_PER_BLOCK,
  STEP_SYMBOLS,
  traceStyleOf,
  parseTrace,
  scoreTrace,
  stepLabel,
  operationFetches,
} from "./tasks/traces.js";
export type { ParsedStep, StepScore } from "./tasks/traces.js";
export { sha256 } from "./tasks/dataset.js";
export { gsm8kFinal, lastBoxed } from "./data/math.js";

// Sweep pieces: the budget rule's parser and tokens, one N's summary.
export { parseBudget, budgetTokens, summarizeN } from "./eval/sweep.js";

// Figures and tables: the traces and helpers under the figure functions.
export { scalingTraces, binShares, smooth, metricBounds, FEW_POINTS } from "./viz/figures.js";
export type { Trace, Layout, Axis, ErrorBar } from "./viz/figures.js";
export { copyPlotly } from "./viz/render.js";
export { escapeMarkdown } from "./analysis/tables.js";

// Notebook plumbing: MIME bundles, the Jupyter sink, the quick runs' settings.
export {
  tableBundle,
  figureBundle,
  bannerBundle,
  jupyterSink,
  stableId,
  PLOTLY_MIME,
  type MimeBundle,
  type DisplaySink,
} from "./notebook/display.js";
export { SFT_DONE, quickSettings } from "./notebook/quick.js";
export { sweepSeries } from "./notebook/results.js";
