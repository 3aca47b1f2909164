// bcr export-dataset's integer flags go through the CLI's one intFlag: the same message as every
// other command, and nothing written when a flag is bad.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import { tempDir } from "../helpers/tmp.js";
import { command } from "../../src/cli/commands/export-dataset.js";

test("export-dataset: a bad integer flag is a usage error naming it, and writes nothing", async () => {
  const dir = tempDir("bcr-export-cmd-");
  const base = ["--out", dir, "--source", "synthetic", "--count", "30"];
  await assert.rejects(command.run([...base, "--n", "0"]), /--n must be an integer >= 1, got '0'/);
  await assert.rejects(command.run([...base, "--seed=-1"]), /--seed must be an integer >= 0, got '-1'/);
  await assert.rejects(command.run([...base, "--levels", "5,x"]), /--levels must be an integer >= 1, got 'x'/);
  await assert.rejects(command.run([...base, "--limit", "2.5"]), /--limit must be an integer >= 1, got '2.5'/);
  assert.deepEqual(fs.readdirSync(dir), []);
});
