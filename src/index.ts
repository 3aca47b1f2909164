/**
 * The toolkit's public surface: every name is listed here on purpose, grouped by the job it does
 * (build data, pack and score, train, evaluate, sweep, fit, analyse, plot, serve, notebooks).
 * Notebooks import from the compiled `dist/index.js`; downstream code from `bcr-toolkit`.
 * Step internals (one GRPO step, checkpoint files, answer-finding pieces, figure traces) are in
 * `src/internal.ts` (`bcr-toolkit/internal`): usable, but free to change. The two share no name
 * (tests/index.test.ts).
 */

import * as aq from "arquero";

// Backend: choose and start the tensor backend (BCR_BACKEND), and say which one runs.
export { initBackend, backendInfo, type BackendInfo, type BackendName } from "./engine/backend.js";

// Model: the GPT, its character tokenizer, and the completion interface every evaluator speaks.
export { GPT, DEFAULT_GPT, type GPTConfig, type SampleOptions, type SampleResult } from "./model/gpt.js";
export { CharTokenizer, SYNTH_CHARS } from "./model/tokenizer.js";
export type { CompletionModel, CompletionRequest, Completion } from "./model/completion.js";
export { LocalModel, type LocalModelOptions } from "./model/local-model.js";
export { loadLocalModel } from "./train/load-local.js";
export { OpenAIModel, type OpenAIModelOptions } from "./eval/openai-client.js";

// BCR core: pack N problems into one prompt, find each answer in the response, score it.
export type { Problem, TemplateName, PackedPrompt, ResponseScore, FoundAnswer } from "./bcr/types.js";
export { packProblems, TEMPLATES } from "./bcr/templates.js";
export { extractAnswers, detectTemplate, type ExtractOptions } from "./bcr/extract.js";
export { answersMatch } from "./bcr/answers.js";
export { scoreResponse } from "./bcr/score.js";
export { estimateTokens, type TokenCounterName } from "./bcr/tokens.js";

// Data: the synthetic task, its reasoning traces and SFT examples, the real math sets, problem files.
export { LEVELS, generateProblem, generateProblems, type LevelConfig } from "./tasks/synthetic.js";
export { TRACE_STYLES, LOOP_MARK, trace, countLoops, type TraceStyle, type TraceOptions } from "./tasks/traces.js";
export {
  DEFAULT_MIX,
  DEFAULT_LOOPS,
  buildSftExamples,
  type StyleMix,
  type SftOptions,
  type SftExample,
} from "./tasks/sft.js";
export {
  DEFAULT_SYNTH_DIR,
  DEFAULT_SYNTH_OPTIONS,
  writeSyntheticDataset,
  loadSyntheticDataset,
} from "./tasks/dataset.js";
export type { SynthDatasetOptions, SynthManifest, Split } from "./tasks/dataset.js";
export { DATASET_FILES, loadMathProblems, loadGsm8k, loadMath, type MathFormat } from "./data/index.js";
export { loadProblemsFile } from "./data/problems-file.js";

// Rewards: the length shapings of the baselines, by name.
export {
  makeShaping,
  SHAPINGS,
  type RewardShaping,
  type ShapedReward,
  type ShapingContext,
  type RolloutForReward,
} from "./rewards/index.js";

// Train: SFT and GRPO into a run folder, their validated configs, and the run folder's files.
export { trainSft, type SftResult, type SftRunOptions } from "./train/sft.js";
export { SftConfigSchema, type SftConfig, type SftConfigInput } from "./train/sft-config.js";
export { trainRl, type RlResult, type RlRunOptions } from "./rl/grpo.js";
export { RlConfigSchema, defaultMethodLabel, type RlConfig, type RlConfigInput } from "./rl/config.js";
export { RUN_FILES, runFile } from "./run/files.js";
export { isSmokeTest, SMOKE_BANNER } from "./run/smoke.js";
export { loadConfig, ConfigError } from "./util/config.js";
export { Rng } from "./util/rng.js";
export { readJsonl } from "./util/fsx.js";

// Evaluate: accuracy and tokens against N problems per context, for any CompletionModel.
export {
  sweepN,
  summaryRows,
  taskScalingSeries,
  type SweepOptions,
  type SweepResult,
  type SweepRow,
  type SweepSummary,
} from "./eval/sweep.js";
export type { NSummary, BudgetRule, SummaryRow, TaskScalingSeries } from "./eval/sweep.js";

// Serve and export: a checkpoint behind the OpenAI API, the BCR reward over HTTP, packed data sets.
export { startModelServer, type ModelServer, type ModelServerOptions } from "./serve/model-server.js";
export { startRewardServer, type RewardServer, type RewardServerOptions } from "./serve/reward-server.js";
export { exportProblems, groupProblems, type ExportOptions, type ExportFormat } from "./export/dataset.js";

// Analyse: scaling-law fits, bootstrap intervals, run stability, tables.
export {
  fitScaling,
  compareForms,
  SCALING_FORMS,
  BOUNDED_FORMS,
  unidentifiedParams,
  fitSummaryText,
  type ScalingFit,
  type ScalingForm,
} from "./analysis/fit.js";
// The candidate forms of each task-scaling metric that the report ranks (by its analysis.fitBy, AICc by default).
export { FIT_FORMS } from "./reproduce/analysis.js";
export { bootstrapMeanCI, bootstrapDiffCI, bootstrapCI } from "./analysis/bootstrap.js";
export {
  readRun,
  readRuns,
  stabilityTable,
  stabilityRows,
  detectCollapse,
  metricCurve,
  type Run,
  type MethodStability,
} from "./analysis/stability.js";
export { toTable, toCsv, writeCsv, toMarkdown, toHtml, toText } from "./analysis/tables.js";

// Plot: one function per figure (a Plotly spec), and rendering to HTML or PNG.
export {
  scalingFigure,
  taskScalingFigure,
  accuracyVsTokensFigure,
  trainingCurvesFigure,
  gradientFigure,
} from "./viz/figures.js";
export {
  positionAccuracyFigure,
  histogramFigure,
  lengthHistogramFigure,
  loopHistogramFigure,
  doseResponseFigure,
} from "./viz/figures.js";
export { liveCurvesFigure, LIVE_METRICS, METRIC_LABELS, metricLabel } from "./viz/figures.js";
export type {
  Figure,
  ScalingSeries,
  ScalingFigureOptions,
  SeedPoint,
  RunCurve,
  PositionPoint,
  Sample,
  DosePoint,
} from "./viz/figures.js";
export { figureToHtml, writeFigureHtml, Renderer } from "./viz/render.js";
export { methodColor } from "./viz/colors.js";

// Tidy data: every evaluated sample and every logged RL step as arquero tables (long form), the
// mean and hierarchical interval per group of any columns, and plotly-express-style figures over
// such tables. `aq` is arquero itself (aq.op, aq.escape, aq.desc), for notebooks that import only this.
export {
  loadEvalRows,
  readEvalRows,
  EVAL_COLUMNS,
  EVAL_ROW_FILES,
  type EvalRow,
  type LoadEvalRowsOptions,
} from "./frame/eval-rows.js";
export { loadRuns, asRuns, RUN_COLUMNS, type LoadRunsOptions } from "./frame/runs.js";
export { summarize, SUMMARY_COLUMNS, type SummarizeOptions } from "./frame/summarize.js";
export { line, scatter, bar, band, ema, isRateColumn, type PxOptions, type BandOptions } from "./viz/px.js";
export { aq };

// Notebooks: the tiny runs they share, the reproduction's outputs, display and live training.
export {
  trainQuickRuns,
  quickRunsHash,
  findReproduceOutputs,
  type QuickRuns,
  type QuickRunOptions,
  type ReproduceOutputs,
} from "./notebook/quick.js";
export { readResults, type ReproduceResults, type FitSettings, type SweepSeries } from "./notebook/results.js";
export { NotebookDisplay } from "./notebook/display.js";
export { LiveTraining, type LiveTrainingOptions } from "./notebook/live.js";
