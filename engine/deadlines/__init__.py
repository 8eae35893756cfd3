"""Statutory time limits, the working-day calendar and its administrator-entered years."""
