"""`make bench`: the load benchmark (orchestrator, data loader, load generator, report)."""
