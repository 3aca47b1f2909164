import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import { NotebookDisplay, type DisplayMessage } from "../../src/notebook/display.js";
import { LiveTraining } from "../../src/notebook/live.js";
import { trainQuickRuns } from "../../src/notebook/quick.js";
import { tempDir } from "../helpers/tmp.js";
import { initBackend } from "../../src/engine/backend.js";

await initBackend();

function fakeDisplay() {
  const sent: { msg: DisplayMessage; update: boolean }[] = [];
  return { sent, display: new NotebookDisplay({ sink: (msg, update) => sent.push({ msg, update }), renderer: null }) };
}

test("LiveTraining: one output replaced in place, redraws throttled by time, eval records always drawn", async () => {
  let t = 0;
  const { sent, display } = fakeDisplay();
  const live = new LiveTraining(display, { total: 10, label: "bcr", minIntervalMs: 1000, now: () => t });
  for (let step = 0; step < 10; step++) {
    t += 400;
    live.onMetrics({ step, "reward/accuracy": step / 10, ...(step === 5 ? { "eval/accuracy": 0.7 } : {}) });
  }
  await live.finish();
  // Drawn at steps 0 (first), 3 (1.2 s later), 5 (eval), 8 (1.2 s after 5), then the final frame.
  assert.equal(sent.length, 5);
  assert.deepEqual(
    sent.map((s) => s.update),
    [false, true, true, true, true],
  );
  assert.ok(
    sent.every((s) => s.msg.transient.display_id === live.id),
    "every message targets the same output",
  );
  assert.match(
    sent[0]!.msg.data["text/plain"]!,
    /^bcr: 1\/10 {2}· {2}10% {2}· {2}ETA 4s {2}· {2}2\.5 steps\/s {2}· {2}reward: accuracy of sampled responses 0/,
  );
  assert.match(sent.at(-1)!.msg.data["text/plain"]!, /^bcr: 10\/10 {2}· {2}100% {2}· {2}took 4s/);
  assert.match(sent.at(-1)!.msg.data["text/html"]!, /width:100%"><\/div><\/div>/, "a full progress bar");
  assert.equal(live.updates, 5);
});

test("LiveTraining: time spent drawing (display messages, the final PNG) counts in neither the ETA, the step rate nor 'took'", async () => {
  let t = 0;
  const sent: DisplayMessage[] = [];
  // Every display message takes 5 s and the final PNG 20 s; each training step takes 400 ms.
  const display = new NotebookDisplay({
    sink: (msg) => {
      sent.push(msg);
      t += 5000;
    },
    renderer: {
      png: async () => {
        t += 20_000;
        return new Uint8Array([137, 80, 78, 71]);
      },
    },
  });
  const live = new LiveTraining(display, { total: 10, label: "bcr", minIntervalMs: 0, now: () => t });
  for (let step = 0; step < 10; step++) {
    t += 400;
    live.onMetrics({ step, "reward/accuracy": step / 10 });
    if (step === 4) {
      assert.match(live.line(), /5\/10 {2}· {2}50% {2}· {2}ETA 2s {2}· {2}2\.5 steps\/s/);
      assert.equal(live.trainingSeconds(), 2);
    }
  }
  await live.finish();
  assert.equal(sent.length, 11, "a frame per step and the final one");
  assert.ok(t > 70_000, "drawing took most of the wall time");
  assert.match(sent.at(-1)!.data["text/plain"]!, /^bcr: 10\/10 {2}· {2}100% {2}· {2}took 4s {2}· {2}2\.5 steps\/s/);
  assert.ok(sent.at(-1)!.data["image/png"], "the final frame has its PNG");
  assert.equal(live.trainingSeconds(), 4);
  assert.equal(live.stepsPerSecond(), 2.5);
});

test("a notebook cell that trains (trainQuickRuns, QUICK) updates its live display more than once per run, while it runs", {
  timeout: 600_000,
}, async () => {
  const out = tempDir("bcr-live-");
  try {
    const { sent, display } = fakeDisplay();
    const lives: { method: string; live: LiveTraining; updatesBeforeFinish: number; total: number }[] = [];
    const tiny = await trainQuickRuns(out, {
      quick: true,
      log: null,
      watch: (run) => {
        const live = new LiveTraining(display, { total: run.total, label: run.method, minIntervalMs: 0 });
        const entry = { method: run.method, live, updatesBeforeFinish: 0, total: run.total };
        lives.push(entry);
        // Count what was shown before finish(): those are the updates a reader sees during the run.
        return {
          onMetrics: live.onMetrics,
          finish: async () => {
            entry.updatesBeforeFinish = live.updates;
            await live.finish();
          },
        };
      },
    });
    assert.deepEqual(
      lives.map((l) => l.method),
      ["sft", "single", "bcr", "linear@1"],
    );
    for (const l of lives) {
      assert.ok(l.updatesBeforeFinish > 1, `${l.method}: ${l.updatesBeforeFinish} updates during the run`);
      const mine = sent.filter((s) => s.msg.transient.display_id === l.live.id);
      assert.equal(mine[0]!.update, false);
      assert.ok(mine.slice(1).every((s) => s.update));
    }
    // The RL panels show the metrics that were logged: the last frame's text names reward and tokens/problem.
    const bcr = sent.filter((s) => s.msg.transient.display_id === lives[2]!.live.id).at(-1)!;
    assert.match(bcr.msg.data["text/plain"]!, /reward: accuracy of sampled responses .*tokens per problem \(sampled\)/);
    assert.ok(fs.existsSync(`${tiny.sft}/done.json`));
  } finally {
    fs.rmSync(out, { recursive: true, force: true });
  }
});
