"""Side-by-side benchmarks of jupyter_mlvc against dill, pickle and Kishu (see README.md)."""
