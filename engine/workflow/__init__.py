"""SpiffWorkflow integration: process models, instances, lanes, service operations, timers."""
