/**
 * The toolkit's public surface. Notebooks and other code import from here (compiled:
 * `dist/index.js`); names read as verbs: packProblems, extractAnswers, scoreResponse,
 * trainSft, trainRl, sweepN, fitScaling, compareForms, stabilityTable.
 */

// Engine and model
export { initBackend, backendInfo, tf, type BackendInfo, type BackendName } from "./engine/backend.js";
export { CharTokenizer, SYNTH_CHARS, GPT, DEFAULT_GPT, type GPTConfig, type SampleOptions, type SampleResult } from "./model/index.js";

// BCR core: tasks, data, packing, extraction, scoring, rewards
export * from "./bcr/index.js";
export * from "./tasks/index.js";
export * from "./data/index.js";
export { makeShaping, SHAPINGS, thinkpruneCap, type RewardShaping, type ShapedReward, type ShapingContext, type RolloutForReward } from "./rewards/index.js";

// Training: SFT and RL
export { trainSft, type SftResult, type SftRunOptions } from "./train/sft.js";
export { SftConfigSchema, type SftConfig, type SftConfigInput } from "./train/sft-config.js";
export { saveCheckpoint, loadCheckpoint, restoreCheckpoint, latestCheckpoint, CheckpointError } from "./run/checkpoint.js";
export { trainRl, rlStep, drawPrompts, sampleRollouts, type RlResult, type RlRunOptions, type Rollout } from "./rl/grpo.js";
export { RlConfigSchema, defaultMethodLabel, type RlConfig, type RlConfigInput } from "./rl/config.js";
export { groupAdvantages, advantageStats, type GroupAdvantages, type AdvantageStats } from "./rl/advantages.js";
export { grpoSurrogate, grpoSurrogateReference, type SurrogateConfig, type Aggregation } from "./rl/loss.js";
export { evaluatePolicy, type PolicyEval } from "./rl/evaluate.js";
export { RUN_FILES, runFile, checkpointsDir } from "./run/files.js";
export { loadConfig, parseConfig, ConfigError } from "./util/config.js";
export { Rng } from "./util/rng.js";
export { readJsonl } from "./util/fsx.js";

// Evaluation: models, N-sweeps, servers
export type { CompletionModel, CompletionRequest, Completion } from "./model/completion.js";
export { LocalModel } from "./model/local-model.js";
export { loadLocal, loadLocalModel } from "./train/load-local.js";
export { OpenAIModel } from "./eval/openai-client.js";
export { loadProblemsFile } from "./data/problems-file.js";
export { planGroups, scoreGroup, type PlannedGroup } from "./bcr/groups.js";
export { sweepN, summarizeN, parseBudget, budgetTokens, summaryRows, taskScalingSeries, type SweepRow, type SweepSummary, type NSummary, type Budget, type SummaryRow, type TaskScalingSeries } from "./eval/sweep.js";
export { startModelServer, type ModelServer } from "./serve/model-server.js";
export { startRewardServer, type RewardServer } from "./serve/reward-server.js";
export { exportProblems, groupProblems } from "./export/dataset.js";

// Analysis and figures
export { fitScaling, compareForms, SCALING_FORMS, BOUNDED_FORMS, unidentifiedParams, fitSummaryText, type ScalingFit, type ScalingForm } from "./analysis/fit.js";
export { bootstrapMeanCI, bootstrapDiffCI, bootstrapCI } from "./analysis/bootstrap.js";
export { readRun, readRuns, stabilityTable, stabilityRows, detectCollapse, metricCurve } from "./analysis/stability.js";
export { toTable, toCsv, writeCsv, toMarkdown, toHtml, toText, escapeMarkdown } from "./analysis/tables.js";
export * from "./viz/figures.js";
export { figureToHtml, writeFigureHtml, copyPlotly, Renderer } from "./viz/render.js";
export { methodColor } from "./viz/colors.js";

// Notebooks: the tiny runs they share, and where the reproduction's outputs are
export { trainQuickRuns, quickSettings, findReproduceOutputs, SFT_DONE, type QuickRuns, type QuickRunOptions, type ReproduceOutputs } from "./notebook/quick.js";
export { NotebookDisplay, tableBundle, figureBundle, bannerBundle, jupyterSink, type MimeBundle, type DisplaySink } from "./notebook/display.js";
export { LiveTraining, type LiveTrainingOptions } from "./notebook/live.js";
export { readResults, sweepSeries, type ReproduceResults } from "./notebook/results.js";
export { isSmokeTest, SMOKE_BANNER } from "./run/smoke.js";
