"""How results are shown: one formatter for bytes, times and metrics, and the text and
HTML views of the magics, the CLI and the widget."""
