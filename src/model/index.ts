// The model's public surface: the tokenizer, the GPT and its sampling types.
export { CharTokenizer, SYNTH_CHARS } from "./tokenizer.js";
export { GPT, DEFAULT_GPT, type GPTConfig, type SampleOptions, type SampleResult } from "./gpt.js";
export { sampleToken, logProbOf } from "./sample.js";
