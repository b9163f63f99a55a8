"""What a kernel's state is and how it becomes bytes: capture, pickling (with the torch
hook), summaries, random state, environment, and which names a cell touched."""

# Registers the torch reducer with ``pickling``: whoever pickles through this package
# gets it, and pickling itself imports no library's support.
from . import torch_support  # noqa: F401
