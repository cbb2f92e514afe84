"""Running the diary as a production service (SPEC §16): health and readiness,
Prometheus metrics, structured logs, and continuous replication with point-in-time
restore (Litestream)."""
