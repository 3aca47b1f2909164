/** The synthetic reasoning task: problems, traces, SFT data and the data set on disk. */
export {
  LEVELS,
  VALUE_MAX,
  levelConfig,
  generateProblem,
  generateProblems,
  solveSteps,
  stepText,
} from "./synthetic.js";
export type { LevelConfig, Step } from "./synthetic.js";
export {
  TRACE_STYLES,
  LOOP_MARK,
  OPS_PER_BLOCK,
  STEP_SYMBOLS,
  trace,
  countLoops,
  traceStyleOf,
  parseTrace,
  scoreTrace,
  stepLabel,
  operationFetches,
} from "./traces.js";
export type { TraceStyle, TraceOptions, ParsedStep, StepScore } from "./traces.js";
export { DEFAULT_MIX, DEFAULT_LOOPS, buildSftExamples } from "./sft.js";
export type { StyleMix, SftOptions, SftExample } from "./sft.js";
export {
  DEFAULT_SYNTH_DIR,
  DEFAULT_SYNTH_OPTIONS,
  writeSyntheticDataset,
  loadSyntheticDataset,
  sha256,
} from "./dataset.js";
export type { SynthDatasetOptions, SynthManifest, Split } from "./dataset.js";
