/**
 * One lock file per work-item folder (<folder>/.study.lock), so that two processes never run the
 * same item of the study at once: two trainers writing one run's checkpoints and stage markers
 * would leave a folder that resumes into neither run. `bcr study` runs one process per item on a
 * cluster (docs/cluster.md), where a job submitted twice or requeued is the usual way this happens.
 *
 * The file holds {pid, host, item, started} and is created with O_EXCL. A lock held by another
 * live process, or by a process on another host (whose liveness this host cannot see), is refused
 * with the file named; a lock left by a dead process on this host is taken over. Removed when the
 * item ends, killed or not (a SIGKILL leaves it behind: on another host, delete it by hand).
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

export const LOCK_FILE = ".study.lock";

export interface LockHolder {
  pid: number;
  host: string;
  item: string;
  started: string;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

function readHolder(file: string): LockHolder | null {
  try {
    const h = JSON.parse(fs.readFileSync(file, "utf8")) as LockHolder;
    return typeof h.pid === "number" && typeof h.host === "string" ? h : null;
  } catch {
    return null;
  }
}

/** Takes the lock of `dir` for `item` (a name for messages), or throws naming its holder; returns the release. */
export function lockItem(dir: string, item: string): () => void {
  fs.mkdirSync(dir, { recursive: true });
  const file = path.join(dir, LOCK_FILE);
  const mine: LockHolder = { pid: process.pid, host: os.hostname(), item, started: new Date().toISOString() };
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      fs.writeFileSync(file, `${JSON.stringify(mine)}\n`, { flag: "wx" });
      return () => {
        const h = readHolder(file);
        if (h && h.pid === mine.pid && h.host === mine.host && h.started === mine.started)
          fs.rmSync(file, { force: true });
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
    }
    const held = readHolder(file);
    // An unreadable lock may be one being written this instant: refused like a live one.
    const stale = held !== null && held.host === mine.host && held.pid !== mine.pid && !alive(held.pid);
    if (!stale)
      throw new Error(
        `${item} is being run by ${held ? `pid ${held.pid} on host ${held.host} (${held.item}, since ${held.started})` : "another process"}: ` +
          `lock ${file}. Two processes on one item would corrupt its checkpoints and markers; ` +
          "if that process is gone (killed on another machine), delete the file and run again",
      );
    fs.rmSync(file, { force: true });
  }
  throw new Error(`${item}: another process took the lock ${file} first`);
}

/** Runs `fn` holding the lock of `dir` (see lockItem). */
export async function withLock<T>(dir: string, item: string, fn: () => Promise<T>): Promise<T> {
  const release = lockItem(dir, item);
  try {
    return await fn();
  } finally {
    release();
  }
}
