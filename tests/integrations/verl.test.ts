import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import * as path from "node:path";
import { packProblems } from "../../src/bcr/index.js";
import { startRewardServer } from "../../src/serve/reward-server.js";

const root = path.resolve(import.meta.dirname, "../..");

test("integrations/verl/bcr_reward.py scores packed responses through the running server", {
  timeout: 60_000,
}, async () => {
  const server = await startRewardServer({ log: null });
  try {
    const p = packProblems(
      [
        { id: "a", question: "What is 3 + 4?", answer: "7" },
        { id: "b", question: "What is 10 - 2?", answer: "8" },
      ],
      { template: "natural" },
    );
    const cases = [
      { response: "### Problem 1\nAnswer 1: \\boxed{7}\n### Problem 2\nAnswer 2: \\boxed{8}", gold: p.golds, want: 1 },
      {
        response: "### Problem 1\nAnswer 1: \\boxed{7}\n### Problem 2\nAnswer 2: \\boxed{9}",
        gold: JSON.stringify(p.golds),
        want: 0.5,
      },
      { response: "no answers", gold: p.golds, want: 0 },
    ];
    const script = `
import json, sys
sys.path.insert(0, "integrations/verl")
from bcr_reward import compute_score
cases = json.loads(sys.stdin.read())
print(json.dumps([compute_score("bcr", c["response"], c["gold"], {"prompt": "p"}, url=${JSON.stringify(server.url)}) for c in cases]))
try:
    compute_score("bcr", "x", "null", url=${JSON.stringify(server.url)})
except RuntimeError as e:
    print("ERR", e)
`;
    // Async, not spawnSync: the server answers from this same event loop.
    const child = spawn("python3", ["-c", script], { cwd: root });
    let stdout = "",
      stderr = "";
    child.stdout.on("data", (c: Buffer) => {
      stdout += c.toString();
    });
    child.stderr.on("data", (c: Buffer) => {
      stderr += c.toString();
    });
    child.stdin.end(JSON.stringify(cases));
    const status = await new Promise<number | null>((resolve) => child.on("close", resolve));
    const r = { status, stdout, stderr };
    assert.equal(r.status, 0, r.stderr);
    const [first, err] = r.stdout.trim().split("\n");
    const out = JSON.parse(first!) as { score: number; acc: number }[];
    assert.deepEqual(
      out.map((o) => o.score),
      cases.map((c) => c.want),
    );
    assert.match(err!, /^ERR bcr reward server answered 400: .*null is not a gold answer/);
  } finally {
    await server.close();
  }
});

test('issue 28.4: bcr_reward.py takes a numeric or string ground_truth (42, 42.0, "42", numpy) and passes extra_info["truncated"] on', {
  timeout: 60_000,
}, async () => {
  const server = await startRewardServer({ log: null });
  try {
    const url = JSON.stringify(server.url);
    const script = `
import json, sys
sys.path.insert(0, "integrations/verl")
from bcr_reward import compute_score
url = ${url}
out = {}
boxed = "Answer 1: \\\\boxed{42}"
for name, gt in [("int", 42), ("float", 42.0), ("str", "42"), ("list", [42]), ("json", '["42"]')]:
    out[name] = compute_score("bcr", boxed, gt, {"index": 0}, url=url)["score"]
out["wrong"] = compute_score("bcr", boxed, 41, {"index": 0}, url=url)["score"]
out["pair"] = compute_score("bcr", "Answer 1: \\\\boxed{7}\\nAnswer 2: \\\\boxed{0.5}", [7, 0.5], {"index": 0}, url=url)["score"]
try:
    import numpy as np
    out["numpy"] = [compute_score("bcr", boxed, g, {"index": 0}, url=url)["score"]
                    for g in (np.int64(42), np.float64(42.0), np.array(["42"]), np.array([42]))]
except ImportError:
    out["numpy"] = [1, 1, 1, 1]
# A last answer that runs into the end of the text: counted unless the response was cut off there.
bare = "Answer 1: 42"
for name, extra in [("no_flag", {"index": 0}), ("not_truncated", {"index": 0, "truncated": False}),
                    ("truncated", {"index": 0, "truncated": True}), ("truncated_none", {"index": 0, "truncated": None})]:
    r = compute_score("bcr", bare, "42", extra, url=url)
    out[name] = [r["score"], r["truncated"]]
for name, gt in [("dict", {"a": 1}), ("bool", True), ("nan", float("nan"))]:
    try:
        compute_score("bcr", boxed, gt, {"index": 0}, url=url)
        out[name] = "no error"
    except TypeError as e:
        out[name] = "TypeError: " + str(e)
print(json.dumps(out))
`;
    const child = spawn("python3", ["-c", script], { cwd: root });
    let stdout = "",
      stderr = "";
    child.stdout.on("data", (c: Buffer) => {
      stdout += c.toString();
    });
    child.stderr.on("data", (c: Buffer) => {
      stderr += c.toString();
    });
    const status = await new Promise<number | null>((resolve) => child.on("close", resolve));
    assert.equal(status, 0, stderr);
    const out = JSON.parse(stdout.trim()) as Record<string, unknown>;
    for (const k of ["int", "float", "str", "list", "json", "pair"]) assert.equal(out[k], 1, k);
    assert.equal(out.wrong, 0);
    assert.deepEqual(out.numpy, [1, 1, 1, 1]);
    assert.deepEqual(out.no_flag, [1, 0]);
    assert.deepEqual(out.not_truncated, [1, 0]);
    assert.deepEqual(out.truncated, [0, 1], "a truncated response's unfinished last answer does not count");
    assert.deepEqual(out.truncated_none, [1, 0]);
    assert.match(String(out.dict), /^TypeError: ground_truth: expected a string, a number or a list of them, got dict/);
    assert.match(String(out.bool), /^TypeError: ground_truth: a gold answer must be a string or a number, got bool/);
    assert.match(String(out.nan), /^TypeError: ground_truth: a gold answer must be finite/);
  } finally {
    await server.close();
  }
});
