# The same save hook for jupyter_server (JupyterLab, Notebook 7), found through JUPYTER_CONFIG_PATH=<repo>/jupyter:
# see jupyter_notebook_config.py.
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bcr_notebook_clean import pre_save_hook  # noqa: E402

c.FileContentsManager.pre_save_hook = pre_save_hook  # noqa: F821 (c: the config traitlets passes in)
