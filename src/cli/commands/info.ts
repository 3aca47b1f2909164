import { UsageError, type Command } from "../command.js";
import { initBackend } from "../../engine/backend.js";
import { arithmeticFingerprint } from "../../model/arithmetic-fingerprint.js";

export const command: Command = {
  name: "info",
  summary:
    "show the compute backend in use, why faster ones were skipped, threads, SIMD, the BLAS library and the arithmetic fingerprint",
  usage: [
    "usage: bcr info [--backend auto|tensorflow|wasm|cpu] [--json]",
    "  --backend NAME  backend to request (default: BCR_BACKEND, else auto)",
    "  --json          print the BackendInfo object as JSON, with the arithmetic fingerprint (field arithmetic)",
    "The arithmetic fingerprint hashes the outputs of fixed products, attention, LayerNorm and GELU on this",
    "backend: processes that print the same one compute the same bits (src/model/arithmetic-fingerprint.ts).",
  ].join("\n"),
  async run(argv) {
    let requested: string | undefined;
    let json = false;
    for (let i = 0; i < argv.length; i++) {
      const a = argv[i]!;
      if (a === "--json") json = true;
      else if (a === "--backend") {
        requested = argv[++i];
        if (!requested) throw new UsageError("--backend needs a value");
      } else if (a.startsWith("--backend=")) requested = a.slice("--backend=".length);
      else throw new UsageError(`unknown argument '${a}'`);
    }
    const info = await initBackend(requested);
    const arithmetic = arithmeticFingerprint();
    if (json) {
      console.log(JSON.stringify({ ...info, arithmetic }, null, 2));
      return 0;
    }
    const lines = [
      `backend:   ${info.name} (${info.package})`,
      `requested: ${info.requested}`,
      `tfjs:      ${info.tfjsVersion}`,
      `threads:   ${info.threads}`,
      `simd:      ${info.simd === null ? "n/a" : info.simd ? "yes" : "no"}`,
      `kernels:   ${
        info.kernels === null
          ? "n/a"
          : info.kernels.engine === "native"
            ? `native (${info.kernels.library}, ${info.kernels.threads} OpenBLAS thread(s) per call)`
            : `wasm (XNNPACK)${info.kernels.nativeSkipped ? `; the native set did not load: ${info.kernels.nativeSkipped}` : ""}`
      }`,
    ];
    if (info.kernels?.engine === "native") {
      const b = info.kernels.blas;
      lines.push(
        `blas:      ${b.config ?? "(no openblas_get_config)"}`,
        `           ${b.realPath ?? b.path ?? b.requested}${b.path && b.realPath !== b.path ? ` (via ${b.path})` : ""}`,
        `           core ${b.corename ?? "unknown"}${b.coretypeEnv ? ` (OPENBLAS_CORETYPE=${b.coretypeEnv})` : ""}, ${
          b.threads ?? "?"
        } thread(s)${b.parallel ? `, ${b.parallel}` : ""}`,
      );
    }
    lines.push(`arithmetic: ${arithmetic}`);
    if (info.skipped.length > 0) {
      lines.push("skipped:");
      for (const s of info.skipped) lines.push(`  ${s.backend}: ${s.reason}`);
    }
    console.log(lines.join("\n"));
    return 0;
  },
};
