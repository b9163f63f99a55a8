"""What users do with snapshots, built on the store and the state: diff, maintenance
(fsck, gc, index rebuild) and remote sync."""
