import { test } from "node:test";
import assert from "node:assert/strict";
import { Progress, RunBoard, formatDuration } from "../../src/util/progress.js";

function fakeStream(isTTY: boolean) {
  const chunks: string[] = [];
  return {
    chunks,
    stream: {
      isTTY,
      columns: 200,
      write: (s: string) => {
        chunks.push(s);
        return true;
      },
    },
  };
}

test("plain mode prints a line every 10% and at the end, with rate, ETA and metrics", () => {
  const { chunks, stream } = fakeStream(false);
  let now = 0;
  const bar = new Progress({ total: 100, label: "sft", stream, now: () => now, everySeconds: 1e9 });
  for (let s = 1; s <= 100; s++) {
    now += 100; // 10 steps/s
    bar.update(s, { loss: 1 / s });
  }
  bar.done();
  assert.equal(chunks.length, 10);
  assert.ok(chunks.every((c) => c.endsWith("\n") && !c.includes("\r")));
  assert.equal(chunks[0], "sft  10/100  10%  10.0 it/s  ETA 9s  loss 0.1000\n");
  assert.match(chunks[9]!, /^sft {2}100\/100 {2}100% {2}10\.0 it\/s {2}took 10s {2}loss 0\.01000\n$/);
});

test("plain mode also prints after everySeconds without progress crossing a bucket", () => {
  const { chunks, stream } = fakeStream(false);
  let now = 0;
  const bar = new Progress({ total: 1000, stream, now: () => now, everyPercent: 50, everySeconds: 30 });
  now = 10_000;
  bar.update(1);
  now = 31_000;
  bar.update(2);
  now = 40_000;
  bar.update(3);
  assert.equal(chunks.length, 1);
  assert.match(chunks[0]!, /^2\/1000/);
});

test("TTY mode redraws one line (throttled) and ends it on done", () => {
  const { chunks, stream } = fakeStream(true);
  let now = 0;
  const bar = new Progress({ total: 4, stream, now: () => now, redrawMs: 100 });
  now = 150;
  bar.update(1, { loss: 2 });
  now = 160;
  bar.update(2); // throttled
  now = 300;
  bar.update(3);
  bar.log("eval done");
  now = 400;
  bar.update(4);
  bar.done();
  assert.ok(chunks[0]!.startsWith("\r\x1b[2K[#####...............]  1/4  25%"));
  assert.equal(chunks.filter((c) => c.includes("2/4")).length, 0);
  assert.ok(chunks.includes("\r\x1b[2Keval done\n"));
  assert.equal(chunks[chunks.length - 1], "\n");
  assert.ok(
    chunks.filter((c) => c.startsWith("\r")).every((c) => !c.slice(1).includes("\n") || c.endsWith("eval done\n")),
  );
});

test("a resumed job measures rate from its start step", () => {
  const { stream } = fakeStream(false);
  let now = 0;
  const bar = new Progress({ total: 100, stream, now: () => now, startStep: 50 });
  now = 5000;
  bar.update(60);
  assert.match(bar.line(), /60\/100 {2}60% {2}2\.0 it\/s {2}ETA 20s/);
});

test("formatDuration", () => {
  assert.equal(formatDuration(9.3), "9s");
  assert.equal(formatDuration(75), "1m15s");
  assert.equal(formatDuration(3700), "1h01m");
  assert.equal(formatDuration(Infinity), "?");
});

const sink = (tty = false) => {
  const chunks: string[] = [];
  return { chunks, stream: { write: (c: string) => chunks.push(c), isTTY: tty, columns: 200 } };
};

test("RunBoard, plain mode: one line per run from its metric records (step, %, ETA, reward, tokens), its log named at start", () => {
  let t = 0;
  const { chunks, stream } = sink();
  const board = new RunBoard({ stream, now: () => t, everyPercent: 25, everySeconds: 1e9 });
  board.start("bcr/seed-1", { total: 8, log: "runs/reproduce/rl/bcr/seed-1/train.log" });
  board.start("single/seed-1", { total: 8 });
  assert.equal(chunks.shift(), "bcr/seed-1: started, log runs/reproduce/rl/bcr/seed-1/train.log\n");
  assert.equal(chunks.shift(), "single/seed-1: started\n");
  for (let step = 0; step < 8; step++) {
    t += 1000;
    board.record("bcr/seed-1", {
      step,
      "reward/accuracy": step / 8,
      "length/tokens_per_problem": 40 - step,
      "eval/accuracy": step === 0 ? 0.5 : undefined,
    });
  }
  board.record("single/seed-1", { step: 0, "reward/accuracy": 0.25 });
  board.finish("bcr/seed-1");
  // 8 steps at 25%: lines at 2, 4, 6 and 8 steps done (8 is the last record); single's first step crosses nothing yet.
  assert.deepEqual(
    chunks.map((c) => c.split("  ").slice(0, 3).join(" ")),
    ["bcr/seed-1 2/8 25%", "bcr/seed-1 4/8 50%", "bcr/seed-1 6/8 75%", "bcr/seed-1 8/8 100%"],
  );
  assert.equal(chunks[0], "bcr/seed-1  2/8  25%  ETA 6s  reward 0.1250  tokens/problem 39  eval acc 0.5000\n");
  assert.match(chunks[3]!, /took 8s {2}reward 0\.8750 {2}tokens\/problem 33/);
  assert.equal(chunks.length, 4, "finish does not repeat the line already printed at 100%");
  board.finish("single/seed-1");
  assert.match(chunks[4]!, /^single\/seed-1 {2}1\/8 {2}12%/, "a run that stopped early gets its final line");
});

test("RunBoard, TTY mode: the block of live lines is redrawn in place, a finished run's line stays above it", () => {
  const { chunks, stream } = sink(true);
  const board = new RunBoard({ stream, now: () => 0 });
  board.start("a", { total: 4 });
  board.start("b", { total: 4 });
  chunks.length = 0;
  board.record("a", { step: 0, "reward/accuracy": 0.5 });
  const out = chunks.join("");
  // biome-ignore lint/suspicious/noControlCharactersInRegex: the ANSI escapes are what is tested
  assert.match(out, /^\x1b\[2A\x1b\[0J/, "moves up over the two live lines and clears them");
  assert.equal(out.split("\n").length - 1, 2, "then draws one line per live run");
  chunks.length = 0;
  board.finish("a");
  // biome-ignore lint/suspicious/noControlCharactersInRegex: strips the ANSI escapes
  const fin = chunks.join("").replace(/\x1b\[[0-9]*[A-Z]/g, "");
  assert.deepEqual(
    fin
      .trim()
      .split("\n")
      .map((l) => l.split("  ")[0]),
    ["a", "b"],
    "a's final line, then b still live",
  );
});
