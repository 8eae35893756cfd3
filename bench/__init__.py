"""Benchmarks of the workflow runtime: raw SpiffWorkflow, the engine service layer, the HTTP API, the inbox."""
