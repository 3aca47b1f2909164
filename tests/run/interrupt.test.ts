import { test } from "node:test";
import assert from "node:assert/strict";
import { shouldStop, stopOnSignals } from "../../src/run/interrupt.js";

test("shouldStop: after maxStepsThisRun steps of this call, or once the signal is aborted", async () => {
  assert.equal(await shouldStop({}, 100, 0), false);
  assert.equal(await shouldStop({ maxStepsThisRun: 3 }, 5, 3), false);
  assert.equal(await shouldStop({ maxStepsThisRun: 3 }, 6, 3), true);
  const ctl = new AbortController();
  assert.equal(await shouldStop({ signal: ctl.signal }, 1, 0), false);
  ctl.abort();
  assert.equal(await shouldStop({ signal: ctl.signal }, 1, 0), true);
});

test("stopOnSignals: SIGTERM (as SIGINT) aborts the signal once; release removes the handlers", () => {
  const before = { int: process.listenerCount("SIGINT"), term: process.listenerCount("SIGTERM") };
  const lines: string[] = [];
  const stop = stopOnSignals("test run", (l) => lines.push(l));
  assert.equal(stop.signal.aborted, false);
  process.emit("SIGTERM", "SIGTERM");
  assert.equal(stop.signal.aborted, true);
  assert.match(lines[0]!, /test run: SIGTERM, stopping after this step/);
  stop.release();
  assert.deepEqual({ int: process.listenerCount("SIGINT"), term: process.listenerCount("SIGTERM") }, before);
});

test("shouldStop lets a pending event run first: an abort queued behind a synchronous step is seen at the next boundary", async () => {
  const ctl = new AbortController();
  setImmediate(() => ctl.abort()); // as a signal handler would be, while a step computes
  let busy = 0;
  for (let i = 0; i < 1e6; i++) busy += i; // a synchronous step
  assert.ok(busy > 0);
  assert.equal(ctl.signal.aborted, false);
  assert.equal(await shouldStop({ signal: ctl.signal }, 1, 0), true);
});
