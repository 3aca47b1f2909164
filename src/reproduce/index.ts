/** `bcr reproduce`: the whole experiment from data to report, as resumable stages. */
export { ReproduceConfigSchema, MethodSchema, type ReproduceConfig, type ReproduceConfigInput, type MethodSpec } from "./config.js";
export { reproduce, stageHashes, STAGES, type ReproduceOptions, type ReproduceResult, type StageName } from "./pipeline.js";
export { runStage, decideStage, stageHash, canonicalJson, readMarker, markerFile, type StageMarker, type StageSpec, type StageAction } from "./stages.js";
export { evaluateClaims, taskScalingClaim, freeLunchClaim, loopsClaim, stabilityClaim, isMonotoneNonIncreasing, accuracyDrop, type Claim, type ClaimInputs, type ClaimThresholds, type Verdict } from "./claims.js";
export { analyze, type Analysis, type MethodAnalysis } from "./analysis.js";
export { buildClaimsJson, reportHtml, type RunMeta } from "./report.js";
export { rlConfigFor, planRuns, derive, layout, withPromptTarget, type Derived, type DataStats, type ModelEval } from "./experiment.js";
