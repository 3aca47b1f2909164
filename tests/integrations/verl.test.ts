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
