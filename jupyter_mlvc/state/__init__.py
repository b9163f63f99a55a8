"""What a kernel's state is and how it becomes bytes: capture, pickling (with the torch
hook), summaries, random state, environment, and which names a cell touched."""
