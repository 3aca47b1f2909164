/**
 * Which commit fixed an experiment's rules, as its report.md, report.html and study.json name it.
 *
 * The rows archive's meta line records it (rules_commit, rules_dirty) when the rows are assembled,
 * right after the runs they hold: a later `bcr study --rejudge` then labels those rows with the
 * rules they were run under, not with whatever commit has touched the config since (experiment A's
 * try-1 rows, run under cd8cdba, would read d129827, the commit that changed its SFT recipe).
 *
 * Archives written before the meta carried it fall back to git, and the log says so: the config's
 * last commit as of the commit that last wrote the archive (the rules the committed rows were judged
 * under), or as of now when the archive is not committed.
 */
import { execFileSync } from "node:child_process";
import * as path from "node:path";
import type { RowsMeta } from "./rows.js";

export interface RulesProvenance {
  /** The commit that fixed the rules (null: the config was never committed). */
  commit: string | null;
  /** Whether the config file differed from that commit. */
  dirty: boolean;
  /** Where the commit came from: the archive's meta line, or git (an archive from before the field). */
  from: "rows" | "git";
  /** From git: the commit the lookup was made as of (the archive's own; null: HEAD, the archive is not committed). */
  asOf?: string | null;
}

function git(args: string[], file: string): string | null {
  try {
    const out = execFileSync("git", args, {
      cwd: path.dirname(path.resolve(file)),
      encoding: "utf8",
      stdio: ["ignore", "pipe", "ignore"],
    }).trim();
    return out || null;
  } catch {
    return null;
  }
}

/** The git commit that last changed `file`, as of commit `at` (default HEAD); null outside a repository or uncommitted. */
export function rulesCommit(file: string, at?: string): string | null {
  return git(["log", "-1", "--format=%H", ...(at ? [at] : []), "--", path.basename(file)], file);
}

/** Whether `file` differs from its last commit (the report says so beside the rules commit). */
export function rulesDirty(file: string): boolean {
  return git(["status", "--porcelain", "--", path.basename(file)], file) !== null;
}

/** What the rows archive's meta line records about the rules, read from git as the rows are assembled. */
export function rulesNow(configFile: string): Pick<RowsMeta, "rules_commit" | "rules_dirty"> {
  return { rules_commit: rulesCommit(configFile), rules_dirty: rulesDirty(configFile) };
}

/** The rules commit of the rows in `rowsFile` (see the header): from their meta, else from git. */
export function rulesOfRows(configFile: string, meta: RowsMeta, rowsFile: string): RulesProvenance {
  if (meta.rules_commit !== undefined)
    return { commit: meta.rules_commit, dirty: meta.rules_dirty ?? false, from: "rows" };
  const asOf = rulesCommit(rowsFile);
  return { commit: rulesCommit(configFile, asOf ?? undefined), dirty: rulesDirty(configFile), from: "git", asOf };
}

/** The log line that says an archive's rules commit came from git, and how. */
export function rulesFromGitNote(id: string, rowsFile: string, p: RulesProvenance): string {
  return (
    `[study] ${id}: ${rowsFile} predates the rules commit in its meta line; looked up in git instead: ` +
    `${p.commit ?? "none (the config was never committed)"}, the config's last commit ` +
    (p.asOf ? `as of the archive's own commit ${p.asOf}` : "now (the archive is not committed)")
  );
}
