"""Oversight (调度): handling statistics computed in SQL, scoped to the province, a prefecture or a department.

`engine.oversight.statistics` has the functions (figures, ranking, stage_timings), `periods` the Period,
`scope` who may see what (Scope, resolve_scope, check_scope), `drill` the cases behind a number.
"""
