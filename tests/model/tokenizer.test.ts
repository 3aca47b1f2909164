import { test } from "node:test";
import assert from "node:assert/strict";
import fc from "fast-check";
import { CharTokenizer, SYNTH_CHARS } from "../../src/model/tokenizer.js";

test("ids: specials first, then SYNTH_CHARS in order", () => {
  const tok = new CharTokenizer();
  assert.deepEqual([CharTokenizer.PAD, CharTokenizer.BOS, CharTokenizer.EOS], [0, 1, 2]);
  assert.equal(tok.vocabSize, 3 + SYNTH_CHARS.length);
  assert.deepEqual(tok.encode("0a\n"), [3, 13, 3 + SYNTH_CHARS.indexOf("\n")]);
});

test("encode/decode round-trips any text over the alphabet", () => {
  const tok = new CharTokenizer();
  fc.assert(
    fc.property(
      fc.array(fc.constantFrom(...SYNTH_CHARS)).map((cs) => cs.join("")),
      (s) => {
        assert.equal(tok.decode(tok.encode(s)), s);
      },
    ),
  );
});

test("decode drops PAD/BOS/EOS and rejects ids outside the vocabulary", () => {
  const tok = new CharTokenizer();
  assert.equal(tok.decode([1, ...tok.encode("7*8=56"), 2, 0, 0]), "7*8=56");
  assert.throws(() => tok.decode([tok.vocabSize]), /outside the vocabulary/);
});

test("an unknown character is an Error naming it (JSON-quoted) and its position", () => {
  const tok = new CharTokenizer();
  assert.throws(() => tok.encode("12+é"), { message: 'CharTokenizer.encode: unknown character "é" at position 3' });
  assert.throws(() => tok.encode("a\tb"), /"\\t" at position 1/);
  assert.throws(() => new CharTokenizer("abca"), /"a" appears twice/);
});
