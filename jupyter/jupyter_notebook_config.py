# The project's Jupyter Notebook (classic) settings, found through JUPYTER_CONFIG_PATH=<repo>/jupyter
# (`npm run notebooks` and scripts/run-notebooks.py set it). Saving a notebook strips execution
# timestamps, execution counts and other kernel-run metadata (bcr_notebook_clean.py), not outputs,
# so re-running a committed notebook leaves git clean where its results did not change.
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bcr_notebook_clean import pre_save_hook  # noqa: E402

c.FileContentsManager.pre_save_hook = pre_save_hook  # noqa: F821 (c: the config traitlets passes in)
