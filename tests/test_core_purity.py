"""The core is plain Python: importing it must not import the faces' frameworks."""

import subprocess
import sys


def test_core_imports_no_ipython_or_server():
    code = (
        "import sys, jupyter_mlvc\n"
        "from jupyter_mlvc import Repo\n"
        "from jupyter_mlvc.state import capture, pickling\n"
        "from jupyter_mlvc.store import index, objects\n"
        "from jupyter_mlvc.ops import maintenance\n"
        "bad = [m for m in ('IPython', 'jupyter_server', 'tornado', 'ipywidgets', 'ipykernel', 'pandas', 'fsspec', 's3fs') if m in sys.modules]\n"
        "print(','.join(bad))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
