import { test } from "node:test";
import assert from "node:assert/strict";
import { fmt, fmtRatio, formatTable, gptParamCount, ratio } from "../../src/profile/report.js";

test("gptParamCount matches a hand count of the GPT-2 layout", () => {
  // V=88, block=256, C=128, L=4: embeddings 88*128 + 256*128, per block
  // 2 LN (4C) + qkv (3C^2+3C) + proj (C^2+C) + fc (4C^2+4C) + out (4C^2+C), final LN 2C
  const C = 128;
  const block = 4 * C + (3 * C * C + 3 * C) + (C * C + C) + (4 * C * C + 4 * C) + (4 * C * C + C);
  assert.equal(
    gptParamCount({ vocabSize: 88, blockSize: 256, nEmbd: C, nLayer: 4 }),
    88 * C + 256 * C + 4 * block + 2 * C,
  );
  assert.equal(gptParamCount({ vocabSize: 88, blockSize: 256, nEmbd: C, nLayer: 4 }), 837376); // torch_peer.py's count
});

test("ratio is null when a side is missing or not positive", () => {
  assert.equal(ratio(2, 4), 0.5);
  assert.equal(ratio(2, null), null);
  assert.equal(ratio(undefined, 4), null);
  assert.equal(ratio(2, 0), null);
  assert.equal(ratio(NaN, 1), null);
});

test("fmt picks digits by magnitude; fmtRatio marks missing values", () => {
  assert.equal(fmt(12345.6), "12,346");
  assert.equal(fmt(12.345), "12.3");
  assert.equal(fmt(1.2345), "1.23");
  assert.equal(fmt(null), "-");
  assert.equal(fmtRatio(0.456), "0.46x");
  assert.equal(fmtRatio(null), "-");
});

test("formatTable aligns columns and pads short rows", () => {
  const t = formatTable(
    ["", "a", "bb"],
    [
      ["x", "1", "22"],
      ["longer", "333"],
    ],
  ).split("\n");
  assert.equal(t.length, 4);
  assert.equal(t[0], "          a  bb");
  assert.equal(t[1], "------  ---  --");
  assert.equal(t[2], "x         1  22");
  assert.equal(t[3], "longer  333");
});
