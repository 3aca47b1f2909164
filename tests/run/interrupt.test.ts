import { test } from "node:test";
import assert from "node:assert/strict";
import { Interrupted, RunStopped, shouldStop, stopOnSignals } from "../../src/run/interrupt.js";

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

test("stopOnSignals says which signal asked to stop: its exit status (143 SIGTERM, 130 SIGINT) and the abort reason", () => {
  for (const [sig, code] of [
    ["SIGTERM", 143],
    ["SIGINT", 130],
  ] as const) {
    const stop = stopOnSignals("test run", () => {});
    assert.equal(stop.received(), null);
    assert.equal(stop.exitCode(), null);
    process.emit(sig, sig);
    assert.equal(stop.received(), sig);
    assert.equal(stop.exitCode(), code);
    assert.ok(stop.signal.reason instanceof Interrupted && stop.signal.reason.sig === sig);
    assert.throws(
      () => stop.signal.throwIfAborted(),
      new RegExp(`^Interrupted: ${sig}: stopped; run the same command again`),
    );
    stop.release();
  }
  assert.match(new RunStopped("sft (x)", 7).message, /^sft \(x\) stopped at step 7 \(checkpoint saved\); run the same/);
  assert.match(
    new RunStopped("eval (x)", null, "the groups finished so far are cached").message,
    /^eval \(x\) stopped \(the groups finished so far are cached\); run the same/,
  );
});
