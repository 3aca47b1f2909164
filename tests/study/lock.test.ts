// The lock of a study work item: held by a live process it is refused with its holder named, a
// dead process's lock on this host is taken over, another host's is refused, a release removes
// only its own lock.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { LOCK_FILE, lockItem, withLock } from "../../src/study/lock.js";
import { tempDir } from "../helpers/tmp.js";

const write = (dir: string, holder: object) => fs.writeFileSync(path.join(dir, LOCK_FILE), JSON.stringify(holder));

test("an item's lock: refused while held, released after, its holder named", async () => {
  const dir = path.join(tempDir("bcr-lock-"), "A", "sft-1");
  const release = lockItem(dir, "sft-1 of experiment A");
  const held = JSON.parse(fs.readFileSync(path.join(dir, LOCK_FILE), "utf8"));
  assert.equal(held.pid, process.pid);
  assert.equal(held.host, os.hostname());
  assert.throws(
    () => lockItem(dir, "rl of sft-1 of experiment A"),
    new RegExp(
      `rl of sft-1 of experiment A is being run by pid ${process.pid} on host .*\\(sft-1 of experiment A, since .*lock .*\\.study\\.lock`,
    ),
  );
  release();
  assert.ok(!fs.existsSync(path.join(dir, LOCK_FILE)));
  // withLock releases on a throw too.
  await assert.rejects(
    withLock(dir, "x", async () => {
      throw new Error("boom");
    }),
    /boom/,
  );
  assert.ok(!fs.existsSync(path.join(dir, LOCK_FILE)));
});

test("a dead process's lock on this host is taken over; another host's or an unreadable one is refused", () => {
  const dir = tempDir("bcr-lock-");
  const dead = spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"], { encoding: "utf8" });
  write(dir, { pid: Number(dead.stdout), host: os.hostname(), item: "sft-2", started: "then" });
  const release = lockItem(dir, "sft-2");
  assert.equal(JSON.parse(fs.readFileSync(path.join(dir, LOCK_FILE), "utf8")).pid, process.pid);
  // Another process's lock (here written over ours) is not removed by our release.
  write(dir, { pid: 1, host: "node07", item: "sft-2", started: "now" });
  release();
  assert.ok(fs.existsSync(path.join(dir, LOCK_FILE)));
  assert.throws(() => lockItem(dir, "sft-2"), /pid 1 on host node07 .*delete the file and run again/);
  fs.writeFileSync(path.join(dir, LOCK_FILE), "");
  assert.throws(() => lockItem(dir, "sft-2"), /being run by another process/);
});
