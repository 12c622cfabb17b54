"""HTTP ingestion: events, batches, tracking links."""
