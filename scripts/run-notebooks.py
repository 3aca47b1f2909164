#!/usr/bin/python3
"""Execute the TypeScript notebooks headlessly with the in-repo tslab kernel (CI and `npm run notebooks:run`).

    /usr/bin/python3 scripts/run-notebooks.py [--full] [--timeout S] [--write | --out DIR] [NOTEBOOK ...]

- Runs every notebooks/*.ipynb (sorted) or the ones named, each in a fresh kernel started in
  notebooks/ (so `../dist/index.js` resolves), with BCR_QUICK=1 unless --full (or BCR_QUICK is
  already set in the environment).
- Leaves the committed notebooks untouched unless --write: then each executed notebook is written
  back in place, outputs included (a notebook that fails keeps the outputs of the cells that ran),
  and signed as trusted in this machine's Jupyter signature store, so its interactive figures run
  when it is opened here. --write is refused in QUICK mode: the committed notebooks show full-mode
  results, and a smoke test must never replace them. --out DIR writes the executed notebooks into
  DIR instead (any mode; DIR must not be notebooks/). CI and tests execute without writing.
- Before writing, the volatile fields are stripped as Jupyter's save hook strips them
  (jupyter/bcr_notebook_clean.py: execution timestamps and counts, viewer state), never outputs,
  so executing the same notebook twice on the same results writes the same bytes.
- tslab's error reply carries no name, value or traceback (the log would show an empty
  `<Error>:`); the message is in the failing cell's stderr output, so that is what is printed,
  with the cell's source.
- Without reproduction results the notebooks train tiny models once and share them through
  runs/notebooks/tiny/<quick|small>-<hash>/, reused only under the hash of their settings
  (trainQuickRuns); this runner deletes nothing there, nor anywhere else.
- A failing notebook does not stop the others; the exit status is 1 when any failed.
- --timeout is per notebook (default 600 s), enforced per cell as the time left; cells slower
  than --slow seconds (default 5) are listed with their time.

Needs Debian's Jupyter (nbclient, nbformat, jupyter_client) under /usr/bin/python3: run
`npm run notebooks:setup` first (it also builds dist/).
"""
import argparse
import glob
import os
import sys
import time

try:
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError
except ImportError as e:  # pragma: no cover
    sys.exit(f"run-notebooks: {e}; run `npm run notebooks:setup` (it installs Debian's jupyter packages)")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NB_DIR = os.path.join(ROOT, "notebooks")
JUPYTER_DIR = os.path.join(ROOT, "jupyter")
sys.path.insert(0, JUPYTER_DIR)
sys.dont_write_bytecode = True  # no __pycache__ beside the save hook's module
from bcr_notebook_clean import clean_notebook  # noqa: E402  (the save hook's own cleaning)


def configure_env(full):
    for var in ("JUPYTER_PATH", "JUPYTER_CONFIG_PATH"):
        os.environ[var] = os.pathsep.join([JUPYTER_DIR] + ([os.environ[var]] if os.environ.get(var) else []))
    os.environ.setdefault("JUPYTER_RUNTIME_DIR", os.path.join(ROOT, ".jupyter-runtime"))
    os.environ.setdefault("PYDEVD_DISABLE_FILE_VALIDATION", "1")
    if full:
        os.environ["BCR_QUICK"] = "0"
    else:
        os.environ.setdefault("BCR_QUICK", "1")


def cell_stderr(cell):
    """The text tslab reports a failure with: the cell's stderr stream and any error outputs."""
    parts = []
    for out in cell.get("outputs", []):
        if out.get("output_type") == "stream" and out.get("name") == "stderr":
            parts.append(out.get("text", ""))
        elif out.get("output_type") == "error":
            parts.append(f"{out.get('ename', '')}: {out.get('evalue', '')}\n" + "\n".join(out.get("traceback", [])))
    return "".join(parts).strip()


def indent(text, prefix="    | "):
    return "\n".join(prefix + line for line in text.splitlines()) or prefix + "(empty)"


def sign(nb):
    """Trust what this runner produced (Jupyter's notary: ~/.local/share/jupyter/nbsignatures.db)."""
    try:
        from nbformat.sign import NotebookNotary
        NotebookNotary().sign(nb)
    except Exception as e:  # a read-only home and the like: the notebook still opens, figures show as PNG
        print(f"       (not signed: {type(e).__name__}: {e})", flush=True)


def run_one(path, timeout, dest, slow):
    """Execute one notebook; with dest (a file path), write the executed notebook there."""
    nb = nbformat.read(path, as_version=4)
    deadline = time.monotonic() + timeout
    failed = {}
    starts = {}

    def on_start(cell, cell_index, **_):
        starts[cell_index] = time.monotonic()

    def on_error(cell, cell_index, **_):
        failed.setdefault("index", cell_index)

    def on_complete(cell, cell_index, **_):
        secs = time.monotonic() - starts.get(cell_index, time.monotonic())
        if secs >= slow:
            print(f"       cell {cell_index} ({cell.get('id', '?')}): {secs:.1f} s", flush=True)

    client = NotebookClient(
        nb,
        kernel_name="tslab",
        timeout_func=lambda cell: max(1, int(deadline - time.monotonic())),
        startup_timeout=120,
        record_timing=False,
        resources={"metadata": {"path": NB_DIR}},
        on_cell_start=on_start,
        on_cell_error=on_error,
        on_cell_executed=on_complete,
    )
    t0 = time.monotonic()
    error = None
    try:
        client.execute()
    except CellTimeoutError:
        error = f"timed out (notebook limit {timeout} s)"
    except DeadKernelError as e:
        error = f"kernel died: {e}"
    except CellExecutionError:
        error = "a cell failed"
    except Exception as e:  # kernel start failures and the like
        error = f"{type(e).__name__}: {e}"
    elapsed = time.monotonic() - t0
    if dest:
        clean_notebook(nb)
        nbformat.write(nb, dest)
        sign(nb)
    if error:
        idx = failed.get("index", max(starts) if starts else None)
        print(f"FAIL {os.path.relpath(path, ROOT)} ({elapsed:.1f} s): {error}", flush=True)
        if idx is not None:
            cell = nb.cells[idx]
            print(f"  cell {idx} (id {cell.get('id', '?')}):\n{indent(cell.source)}")
            print(f"  stderr:\n{indent(cell_stderr(cell))}", flush=True)
        return False, elapsed
    print(f"ok   {os.path.relpath(path, ROOT)} ({elapsed:.1f} s)", flush=True)
    return True, elapsed


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("notebooks", nargs="*", help="notebooks to run (default notebooks/*.ipynb)")
    ap.add_argument("--full", action="store_true", help="full mode: BCR_QUICK=0 (default QUICK mode)")
    ap.add_argument("--timeout", type=int, default=600, help="seconds per notebook (default 600)")
    ap.add_argument("--slow", type=float, default=5.0, help="print the time of cells slower than this (s)")
    ap.add_argument("--write", action="store_true", help="full mode only: write executed notebooks back into notebooks/ (default: leave them untouched)")
    ap.add_argument("--out", metavar="DIR", help="write the executed notebooks into DIR instead (any mode; not notebooks/)")
    ap.add_argument("--no-write", action="store_true", help="the default; kept for older callers")
    ap.add_argument("--reuse", action="store_true", help="no effect, kept for older callers: tiny runs are reused by the hash of their settings and never deleted")
    args = ap.parse_args()
    configure_env(args.full)
    quick = os.environ["BCR_QUICK"] == "1"
    write = args.write and not args.no_write
    if write and args.out:
        sys.exit("run-notebooks: --write (in place) and --out DIR (elsewhere) exclude each other")
    if write and quick:
        sys.exit("run-notebooks: --write is refused in QUICK mode: the committed notebooks hold full-mode outputs and a "
                 "smoke test must not replace them. Use --full --write, or --out DIR to keep QUICK outputs elsewhere.")
    out_dir = os.path.abspath(args.out) if args.out else None
    if out_dir and os.path.realpath(out_dir) == os.path.realpath(NB_DIR):
        sys.exit("run-notebooks: --out must not be notebooks/ (use --full --write to rewrite the committed notebooks)")
    if not os.path.exists(os.path.join(ROOT, "dist", "index.js")):
        sys.exit("run-notebooks: dist/index.js is missing; run `npm run notebooks:setup` (or `npm run build`)")
    paths = [os.path.abspath(p) for p in args.notebooks] or sorted(glob.glob(os.path.join(NB_DIR, "*.ipynb")))
    if not paths:
        sys.exit(f"run-notebooks: no notebooks in {NB_DIR}")
    missing = [p for p in paths if not os.path.isfile(p)]
    if missing:
        sys.exit(f"run-notebooks: no such notebook: {', '.join(missing)}")
    if out_dir:
        os.makedirs(out_dir, exist_ok=True)
    where = "writing them back (--write)" if write else f"writing them to {out_dir}" if out_dir else "not writing them back (--write to)"
    print(f"running {len(paths)} notebook(s) in {'QUICK' if quick else 'full'} mode (BCR_QUICK={os.environ['BCR_QUICK']}), "
          f"timeout {args.timeout} s each, {where}", flush=True)
    results = []
    t0 = time.monotonic()
    for p in paths:
        dest = p if write else os.path.join(out_dir, os.path.basename(p)) if out_dir else None
        ok, secs = run_one(p, args.timeout, dest, args.slow)
        results.append((p, ok, secs))
    bad = [p for p, ok, _ in results if not ok]
    print(f"\n{len(results) - len(bad)}/{len(results)} passed in {time.monotonic() - t0:.1f} s")
    for p, ok, secs in results:
        print(f"  {'ok  ' if ok else 'FAIL'} {secs:7.1f} s  {os.path.relpath(p, ROOT)}")
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
