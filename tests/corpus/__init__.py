"""A restore-fidelity campaign on notebooks this project did not write.

scikit-learn's example gallery (from its sdist, downloaded on first use) is run cell
by cell in real kernels, committed after every cell, restored at several cells in the
same kernel and in a fresh one, and each restored namespace is compared with a
fingerprint taken right after that cell. ``python -m tests.corpus.run`` runs it.
"""
