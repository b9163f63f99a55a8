"""Where snapshots live: content-addressed objects, the SQLite index (all of its SQL),
refs and HEAD, manifests, signatures and trust, and the leases that keep gc off running writes."""
