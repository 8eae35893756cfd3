"""(b) with the code of one checkout, for comparing two at the same moment (same machine load).

    .venv/bin/python bench/compare.py ROOT sqlite|pg CASES [bare]      # prints one JSON line

ROOT is a checkout (e.g. /work/main for "before", this one for "after"); run the two at the same time, so both
meet the same load. `bare`: 公文 numbered and stored with an empty .docx (rendering left out). Statements per
step leave out the untimed task-id look-up and the actor's load (2 per step).
"""
from __future__ import annotations

import json
import logging
import os
import sys
from typing import Any

root, backend, cases = sys.argv[1], sys.argv[2], int(sys.argv[3])
bare = len(sys.argv) > 4 and sys.argv[4] == "bare"
sys.path.insert(0, root)
logging.basicConfig(level=logging.WARNING)

from sqlalchemy import event  # noqa: E402

from bench import common, service  # noqa: E402

if bare:
    from engine.documents import services as documents

    documents._render = lambda template, context: b""


def main() -> None:
    scratch = common.scratch_postgres("ab") if backend == "pg" else common.scratch_sqlite("ab")
    with scratch as url:
        engine = common.make_engine(url)
        common.prepare_database(engine)
        who = service.officials(engine)
        warm, _ = service.register_cases(engine, 3, who)
        service.walk(engine, warm, who)
        ids, _ = service.register_cases(engine, cases, who)
        statements = [0]

        def count(*_args: Any) -> None:
            statements[0] += 1

        cpu: list[float] = []
        load_before = os.getloadavg()[0]
        event.listen(engine, "before_cursor_execute", count)
        times, _ = service.walk(engine, ids, who, cpu=cpu)
        event.remove(engine, "before_cursor_execute", count)
        st = common.stats(times)
        print(json.dumps({
            "root": root, "backend": backend, "bare": bare, "steps": len(times), "mean_ms": round(st.mean_ms, 2),
            "median_ms": round(st.median_ms, 2), "cpu_ms": round(sum(cpu) * 1000 / len(cpu), 2),
            "statements_per_step": round(statements[0] / len(times) - 2, 2),
            "loadavg": [round(load_before, 2), round(os.getloadavg()[0], 2)]}))
        engine.dispose()


main()
