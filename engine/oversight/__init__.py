"""Oversight (调度): handling statistics computed in SQL, scoped to the province, a prefecture or a department.

`statistics` has the public functions (figures, ranking, and stage_timings from `stages`), `periods` the Period,
`scope` who may see what (Scope, resolve_scope, check_scope), `drill` the cases behind a number, `query` the
shared SQL building blocks, `sql` the two dialect differences and the percentile arithmetic; bulletins and the
assessment table build on them.
"""
