import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { initBackend } from "../../src/engine/backend.js";
import { GPT } from "../../src/model/gpt.js";
import { CharTokenizer } from "../../src/model/tokenizer.js";
import { saveCheckpoint } from "../../src/run/checkpoint.js";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

test("bcr serve-model: loads the checkpoint in its generation thread, serves it, exits 0 on SIGTERM", {
  timeout: 90_000,
}, async () => {
  await initBackend();
  const tok = new CharTokenizer();
  const gpt = new GPT({ vocabSize: tok.vocabSize, blockSize: 48, nEmbd: 16, nLayer: 1, nHead: 2, dropout: 0, seed: 3 });
  const dir = path.join(fs.mkdtempSync(path.join(os.tmpdir(), "bcr-serve-cli-")), "ck");
  saveCheckpoint(dir, { model: gpt, step: 11 });
  gpt.dispose();
  const child = spawn(
    process.execPath,
    ["--import", "tsx", "src/cli/main.ts", "serve-model", "--checkpoint", dir, "--port", "0"],
    { cwd: root, stdio: ["ignore", "pipe", "pipe"] },
  );
  let out = "",
    err = "";
  child.stderr.on("data", (c: Buffer) => {
    err += c.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  try {
    const baseUrl = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no URL within 60 s; stderr: ${err}`)), 60_000);
      child.stdout.on("data", (c: Buffer) => {
        out += c.toString();
        const m = /at (http:\/\/\S+\/v1)/.exec(out);
        if (m) {
          clearTimeout(timer);
          resolve(m[1]!);
        }
      });
      child.on("exit", (code) => reject(new Error(`exited ${code}: ${err}`)));
    });
    assert.match(out, new RegExp(`serving ${dir.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")} \\(step 11\\)`));
    const models = (await (await fetch(`${baseUrl}/models`)).json()) as { data: { id: string }[] };
    assert.equal(models.data[0]!.id, dir, "the model id defaults to the checkpoint directory");
    const r = await fetch(`${baseUrl}/completions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ prompt: "3+4", max_tokens: 5, temperature: 0 }),
    });
    assert.equal(r.status, 200);
    const body = (await r.json()) as { usage: { prompt_tokens: number } };
    assert.equal(body.usage.prompt_tokens, 4);
    child.kill("SIGTERM");
    assert.equal(await exited, 0, err);
  } finally {
    child.kill("SIGKILL");
  }
});
