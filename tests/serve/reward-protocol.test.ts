import { test } from "node:test";
import assert from "node:assert/strict";
import {
  parseLabel,
  parseRewardRequest,
  RequestError,
  splitResponse,
  stripEos,
} from "../../src/serve/reward-protocol.js";
import { estimateTokens, makeTokenCounter } from "../../src/bcr/tokens.js";

test("labels: JSON-array strings, real arrays, plain answers and numbers", () => {
  assert.deepEqual(parseLabel('["12","7"]'), ["12", "7"]);
  assert.deepEqual(parseLabel(' ["\\\\frac{1}{2}", "x"] '), ["\\frac{1}{2}", "x"]);
  assert.deepEqual(parseLabel(["12", 7]), ["12", "7"]);
  assert.deepEqual(parseLabel("42"), ["42"]);
  assert.deepEqual(parseLabel(42), ["42"]);
  // Only an array of strings is a list: interval answers stay single answers.
  assert.deepEqual(parseLabel("[-2,7]"), ["[-2,7]"]);
  assert.deepEqual(parseLabel("[0,1)"), ["[0,1)"]);
});

test("bad labels are 400s that name the label", () => {
  for (const bad of [null, undefined, {}, true, "", "   ", "[]", [], ["1", ""], ["1", {}], [null], Infinity]) {
    assert.throws(
      () => parseLabel(bad, "labels[3]"),
      (e: unknown) => e instanceof RequestError && e.status === 400 && e.message.startsWith("labels[3]"),
      `label ${JSON.stringify(bad)}`,
    );
  }
});

test("response = query minus prompt; first occurrence when the query does not start with it", () => {
  assert.equal(splitResponse("PROMPT:resp", "PROMPT:"), "resp");
  assert.equal(splitResponse("<s>PROMPT:resp", "PROMPT:"), "resp");
  // The response repeats the prompt: the first occurrence is the real prompt.
  assert.equal(splitResponse("<s>P: x P: y", "P:"), " x P: y");
  assert.equal(splitResponse("anything", ""), "anything");
  assert.throws(() => splitResponse("other text", "PROMPT", "query[2]"), /query\[2\]: does not contain its prompt/);
});

test("request validation: lengths, types, optional fields", () => {
  const ok = parseRewardRequest({
    query: ["pa", "pb"],
    prompts: ["p", "p"],
    labels: ["1", '["2","3"]'],
    response_lengths: [5, 6],
    truncated: [false, true],
    step: 3,
  });
  assert.deepEqual(
    ok.items.map((i) => [i.response, i.golds, i.length, i.truncated]),
    [
      ["a", ["1"], 5, false],
      ["b", ["2", "3"], 6, true],
    ],
  );
  assert.equal(ok.step, 3);
  const direct = parseRewardRequest({ responses: ["r"], prompts: ["group-1"], labels: ["1"] });
  assert.equal(direct.items[0]!.response, "r");
  const cases: [unknown, RegExp][] = [
    [[], /JSON object/],
    [{ prompts: [], labels: [] }, /missing field "query"/],
    [{ query: [], labels: [] }, /missing field "prompts"/],
    [{ query: [], prompts: [] }, /missing field "labels"/],
    [{ query: "x", prompts: [], labels: [] }, /"query" must be an array/],
    [{ query: ["x", 1], prompts: ["x", "y"], labels: ["1", "1"] }, /query\[1\] must be a string/],
    [{ query: ["x"], prompts: ["x"], labels: "1" }, /"labels" must be an array/],
    [{ query: ["x"], prompts: ["x", "y"], labels: ["1"] }, /array lengths differ/],
    [{ query: ["x"], prompts: ["x"], labels: ["1"], response_lengths: [1, 2] }, /response_lengths/],
    [{ query: ["x"], prompts: ["x"], labels: ["1"], response_lengths: [-1] }, /response_lengths\[0\]/],
    [{ query: ["x"], prompts: ["x"], labels: ["1"], truncated: ["yes"] }, /truncated\[0\]/],
    [{ query: ["x"], prompts: ["x"], labels: ["1"], step: "3" }, /"step"/],
  ];
  for (const [body, re] of cases) {
    assert.throws(
      () => parseRewardRequest(body),
      (e: unknown) => e instanceof RequestError && e.status === 400 && re.test(e.message),
      JSON.stringify(body),
    );
  }
});

test("end-of-sequence markers are stripped and mean 'stopped'", () => {
  assert.deepEqual(stripEos("Answer 1: \\boxed{3}<|im_end|>"), { text: "Answer 1: \\boxed{3}", stopped: true });
  assert.deepEqual(stripEos("x<｜end▁of▁sentence｜>\n"), { text: "x", stopped: true });
  assert.deepEqual(stripEos("x <|im_end|> y"), { text: "x <|im_end|> y", stopped: false });
});

test("token estimate: digits one each, words by length, spaces free; chars counter exact", () => {
  assert.equal(estimateTokens(""), 0);
  assert.equal(estimateTokens("1234"), 4);
  assert.equal(estimateTokens("the cat"), 2);
  assert.equal(estimateTokens("multiplication"), 3);
  assert.equal(estimateTokens("\\boxed{12}"), 1 + 1 + 1 + 2 + 1);
  assert.equal(estimateTokens("a\n\n\nb"), 3);
  assert.equal(makeTokenCounter("chars")("abc d"), 5);
  assert.throws(() => makeTokenCounter("bpe"), /unknown token counter 'bpe'/);
});

test("malformed labels are 400s naming the item, not literal answers scored 0", () => {
  for (const [label, msg] of [
    ["[1,2", /labels\[1\]: starts like a JSON list/],
    ["null", /labels\[1\]: null is not a gold answer/],
    ['{"a":1}', /labels\[1\]: a JSON object is not a gold answer/],
  ] as const) {
    assert.throws(
      () => parseRewardRequest({ responses: ["x", "y"], prompts: ["p", "q"], labels: ["5", label] }),
      (e: unknown) => e instanceof RequestError && e.status === 400 && msg.test(e.message),
      label,
    );
  }
  // Intervals stay single answers.
  assert.deepEqual(parseLabel("[0,1)"), ["[0,1)"]);
  assert.deepEqual(parseLabel("[-2,7]"), ["[-2,7]"]);
});
