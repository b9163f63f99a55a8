"""Settings of the ``%mlvc`` magics, tuned with ``%config MLVC.<option> = value``.

They can also live in ``ipython_config.py`` (``c.MLVC.exclude = ["tmp_*"]``) or on
the command line (``ipython --MLVC.log_limit=50``). Only traitlets is imported here,
so the settings can be read without IPython.
"""

from __future__ import annotations

from traitlets import Bool, Float, Int, List, Unicode
from traitlets.config import Configurable


class MLVC(Configurable):
    """Settings of jupyter_mlvc's magics and notebook browser."""

    store = Unicode(
        "",
        help="""Folder that holds (or will hold) the .mlvc store. Empty: the nearest
        .mlvc above the notebook's folder, or a new one next to the notebook.""",
    ).tag(config=True)

    notebook = Unicode(
        "",
        help="""Path of this kernel's notebook. Empty: found from JPY_SESSION_NAME,
        __vsc_ipynb_file__ or the Jupyter server's sessions.""",
    ).tag(config=True)

    exclude = List(
        Unicode(),
        default_value=[],
        help="""Variable names or fnmatch patterns (e.g. "tmp_*") never committed,
        compared or removed by a checkout.""",
    ).tag(config=True)

    save_before_checkout = Bool(
        True,
        help="""Commit the current state ("auto: before checkout of <id>") before a
        checkout replaces it, when it differs from HEAD. `--no-save` skips it once.""",
    ).tag(config=True)

    use_editor_content = Bool(
        True,
        help="""Prefer the notebook as it is in the editor (pushed by the JupyterLab
        extension) over the saved file.""",
    ).tag(config=True)

    log_limit = Int(
        20,
        help="Rows shown by `%mlvc log` without -n.",
    ).tag(config=True)

    show_auto = Bool(
        True,
        help="Show automatic snapshots (made before a checkout) in `%mlvc log` and the browser.",
    ).tag(config=True)

    progress_after = Float(
        1.0,
        help="Seconds a commit or checkout runs before a progress bar appears.",
    ).tag(config=True)

    server_timeout = Float(
        1.0,
        help="Seconds to wait for a Jupyter server when asking it which notebook this kernel runs.",
    ).tag(config=True)

    restore_random_state = Bool(
        True,
        help="""A full checkout also restores the random generators (random, numpy's
        legacy generator, torch's CPU generator) to their state at the snapshot.""",
    ).tag(config=True)

    auto = Bool(
        False,
        help="""Commit automatically after every cell that changed a variable
        (`%mlvc auto on|off`). Only the variables a cell's code reaches are serialized.""",
    ).tag(config=True)
