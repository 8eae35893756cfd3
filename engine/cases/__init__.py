"""Complaints (违约失信投诉): intake, USCC check, case history."""
