"""Strip what changes from one run of a notebook to the next without its content changing.

Used by Jupyter's save hook (jupyter_notebook_config.py / jupyter_server_config.py here, found
through JUPYTER_CONFIG_PATH=<repo>/jupyter, which `npm run notebooks` sets) and by
scripts/run-notebooks.py before it writes a notebook, so a notebook saved from Jupyter and one
written by the runner look alike and re-running either leaves git clean.

Removed (volatile: they record when or how a kernel ran, not what the notebook shows):
  - cell metadata `execution` (JupyterLab's and nbclient's timestamps), `ExecuteTime` (the
    classic Notebook's execute-time extension), `trusted` and `scrolled` (viewer state);
  - execution counts (in cells and in execute_result outputs): they count how often cells were
    run in one kernel session;
  - notebook metadata `widgets` (a kernel session's widget state) and `vscode` (the editor's
    interpreter hash).
Kept: every output (text, tables, figures), cell ids, sources, the kernelspec and language_info.
"""

CELL_METADATA = ("execution", "ExecuteTime", "trusted", "scrolled")
NOTEBOOK_METADATA = ("widgets", "vscode")


def clean_notebook(nb):
    """Remove the volatile fields from a notebook (a dict or NotebookNode) in place; returns it."""
    meta = nb.get("metadata")
    if isinstance(meta, dict):
        for key in NOTEBOOK_METADATA:
            meta.pop(key, None)
    for cell in nb.get("cells", []):
        cmeta = cell.get("metadata")
        if isinstance(cmeta, dict):
            for key in CELL_METADATA:
                cmeta.pop(key, None)
        if cell.get("cell_type") == "code":
            cell["execution_count"] = None
            for out in cell.get("outputs", []):
                if "execution_count" in out:
                    out["execution_count"] = None
    return nb


def pre_save_hook(model, **kwargs):
    """Jupyter's ContentsManager.pre_save_hook: called as hook(model=..., path=..., contents_manager=...)."""
    if model.get("type") == "notebook" and isinstance(model.get("content"), dict):
        clean_notebook(model["content"])
