import { test } from "node:test";
import assert from "node:assert/strict";
import { Progress, formatDuration } from "../../src/util/progress.js";

function fakeStream(isTTY: boolean) {
  const chunks: string[] = [];
  return { chunks, stream: { isTTY, columns: 200, write: (s: string) => { chunks.push(s); return true; } } };
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
  assert.match(chunks[9]!, /^sft  100\/100  100%  10\.0 it\/s  took 10s  loss 0\.01000\n$/);
});

test("plain mode also prints after everySeconds without progress crossing a bucket", () => {
  const { chunks, stream } = fakeStream(false);
  let now = 0;
  const bar = new Progress({ total: 1000, stream, now: () => now, everyPercent: 50, everySeconds: 30 });
  now = 10_000; bar.update(1);
  now = 31_000; bar.update(2);
  now = 40_000; bar.update(3);
  assert.equal(chunks.length, 1);
  assert.match(chunks[0]!, /^2\/1000/);
});

test("TTY mode redraws one line (throttled) and ends it on done", () => {
  const { chunks, stream } = fakeStream(true);
  let now = 0;
  const bar = new Progress({ total: 4, stream, now: () => now, redrawMs: 100 });
  now = 150; bar.update(1, { loss: 2 });
  now = 160; bar.update(2); // throttled
  now = 300; bar.update(3);
  bar.log("eval done");
  now = 400; bar.update(4);
  bar.done();
  assert.ok(chunks[0]!.startsWith("\r\x1b[2K[#####...............]  1/4  25%"));
  assert.equal(chunks.filter((c) => c.includes("2/4")).length, 0);
  assert.ok(chunks.includes("\r\x1b[2Keval done\n"));
  assert.equal(chunks[chunks.length - 1], "\n");
  assert.ok(chunks.filter((c) => c.startsWith("\r")).every((c) => !c.slice(1).includes("\n") || c.endsWith("eval done\n")));
});

test("a resumed job measures rate from its start step", () => {
  const { stream } = fakeStream(false);
  let now = 0;
  const bar = new Progress({ total: 100, stream, now: () => now, startStep: 50 });
  now = 5000;
  bar.update(60);
  assert.match(bar.line(), /60\/100  60%  2\.0 it\/s  ETA 20s/);
});

test("formatDuration", () => {
  assert.equal(formatDuration(9.3), "9s");
  assert.equal(formatDuration(75), "1m15s");
  assert.equal(formatDuration(3700), "1h01m");
  assert.equal(formatDuration(Infinity), "?");
});
