/**
 * Generation off the event loop for `bcr serve-model` (model-server.ts): one worker thread
 * holding its own tfjs backend, the GPT and a LocalModel, sampling each micro-batch it is sent.
 * The server's event loop then only parses requests and writes replies, so /health and
 * request parsing are answered while a batch is being sampled (on the event loop, a batch of
 * long generations held /health for over a second).
 *
 * The model reaches the thread either as a checkpoint directory (the CLI: loaded there, see
 * loadLocal; the server's thread never holds the weights) or as a GPT's config and weights
 * (copied once at start). The thread uses the backend and kernel set of the thread that starts
 * it when that one has initialised a backend (as data-parallel.ts does), else what
 * BCR_BACKEND / BCR_KERNELS pick. Same weights, backend and kernels, and the LocalModel gets
 * the same options and sees the same micro-batches in the same order as an in-process one, so
 * it samples the same texts for the same seeds (and the same unseeded stream).
 *
 * A thread that fails (an error while sampling, or the thread exiting) fails the batch it was
 * sampling; after an exit every later batch fails at once and `failure` says why (the server's
 * /health then answers 503).
 */
import { startWorkerBeside } from "../util/worker.js";
import type { Worker } from "node:worker_threads";
import type { Completion, CompletionRequest } from "../model/completion.js";
import type { GPTConfig } from "../model/gpt.js";

/** Where the thread gets its model. */
export type ModelSource =
  | { checkpoint: string }
  | { config: GPTConfig; weights: { name: string; data: Float32Array }[]; chars: string };

export interface GenerationInit {
  source: ModelSource;
  /** The backend and kernel set to use (null: the environment's choice). */
  backend: string | null;
  kernels: string | null;
  /** LocalModel options (see local-model.ts). */
  local: { name: string; addBos?: boolean; seed?: number; maxBatch: number };
}

export type ToGenerator =
  | { kind: "init"; init: GenerationInit }
  | { kind: "complete"; id: number; requests: CompletionRequest[] };

export type FromGenerator =
  | { kind: "ready"; blockSize: number; vocabSize: number; chars: string; dir: string | null; step: number | null }
  | { kind: "done"; id: number; completions: Completion[] }
  | { kind: "error"; id: number | null; message: string };

export interface Ready {
  blockSize: number;
  vocabSize: number;
  /** The tokenizer's alphabet (CharTokenizer). */
  chars: string;
  /** The checkpoint directory and step, when loaded from one. */
  dir: string | null;
  step: number | null;
}

export class GenerationThread {
  private readonly pending = new Map<number, { resolve: (c: Completion[]) => void; reject: (e: Error) => void }>();
  private nextId = 0;
  private failed: Error | null = null;

  private constructor(private readonly worker: Worker) {
    worker.on("message", (m: FromGenerator) => {
      if (m.kind === "done") this.settle(m.id, (p) => p.resolve(m.completions));
      else if (m.kind === "error" && m.id !== null) this.settle(m.id, (p) => p.reject(new Error(m.message)));
    });
    const fail = (e: Error) => {
      this.failed ??= e;
      for (const p of this.pending.values()) p.reject(e);
      this.pending.clear();
      worker.unref();
    };
    worker.on("error", (e) => fail(new Error(`generation thread failed: ${e.message}`)));
    worker.on("exit", (code) => fail(new Error(`generation thread exited (code ${code})`)));
  }

  /** Starts the thread and waits until its model is loaded. */
  static async start(init: GenerationInit): Promise<{ thread: GenerationThread; ready: Ready }> {
    const worker = startWorkerBeside(import.meta.url, "generate-worker");
    const ready = new Promise<Ready>((resolve, reject) => {
      const onMessage = (m: FromGenerator) => {
        if (m.kind === "ready") {
          cleanup();
          const { kind: _, ...r } = m;
          resolve(r);
        } else if (m.kind === "error" && m.id === null) {
          cleanup();
          reject(new Error(m.message));
        }
      };
      const onError = (e: Error) => {
        cleanup();
        reject(e);
      };
      const onExit = (code: number) => {
        cleanup();
        reject(new Error(`generation thread exited (code ${code}) while loading the model`));
      };
      const cleanup = () => {
        worker.off("message", onMessage);
        worker.off("error", onError);
        worker.off("exit", onExit);
      };
      worker.on("message", onMessage);
      worker.on("error", onError);
      worker.on("exit", onExit);
    });
    const thread = new GenerationThread(worker);
    const transfer = "weights" in init.source ? init.source.weights.map((w) => w.data.buffer as ArrayBuffer) : [];
    worker.postMessage({ kind: "init", init } satisfies ToGenerator, transfer);
    try {
      const r = await ready;
      worker.unref(); // idle: only a batch being sampled keeps the process alive
      return { thread, ready: r };
    } catch (e) {
      await worker.terminate();
      throw e;
    }
  }

  /** Why the thread is gone, or null while it works. */
  get failure(): Error | null {
    return this.failed;
  }

  /** Sample one batch in the thread (what LocalModel.complete returns for it). */
  complete(requests: CompletionRequest[]): Promise<Completion[]> {
    if (this.failed) return Promise.reject(this.failed);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.ref();
      this.worker.postMessage({ kind: "complete", id, requests } satisfies ToGenerator);
    });
  }

  async close(): Promise<void> {
    this.failed ??= new Error("generation thread closed");
    await this.worker.terminate();
  }

  private settle(id: number, f: (p: { resolve: (c: Completion[]) => void; reject: (e: Error) => void }) => void) {
    const p = this.pending.get(id);
    if (!p) return;
    this.pending.delete(id);
    if (this.pending.size === 0) this.worker.unref();
    f(p);
  }
}
