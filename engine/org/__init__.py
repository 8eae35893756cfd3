"""Organisation: departments, officials, API tokens."""
