/** The tiny GPT the model tests share: small enough for whole-model gradient and cache checks. */
import type { GPTConfig } from "../../src/model/gpt.js";
import { CharTokenizer } from "../../src/model/tokenizer.js";

export const tok = new CharTokenizer();

/** 2 layers, 16 wide, 2 heads, 32 positions, learned absolute positions, seed 3. */
export const TINY_GPT: GPTConfig = {
  vocabSize: tok.vocabSize,
  blockSize: 32,
  nEmbd: 16,
  nLayer: 2,
  nHead: 2,
  dropout: 0,
  seed: 3,
};

/** BOS, then the characters of s. */
export const prompt = (s: string): number[] => [CharTokenizer.BOS, ...tok.encode(s)];
