"""gunicorn.conf.py's worker hook: what the app's start built is frozen out of the cyclic garbage collector."""
from __future__ import annotations

import subprocess
import sys

from bench.common import ROOT

HOOK = """
import gc, runpy
conf = runpy.run_path("gunicorn.conf.py")
from web import create_app
create_app()
before = gc.get_freeze_count()
conf["post_worker_init"](None)
print(before, gc.get_freeze_count())
"""


def test_a_worker_freezes_what_its_app_start_built(tmp_path) -> None:  # noqa: ANN001
    env = {"PATH": "/usr/bin:/bin", "PROMETHEUS_MULTIPROC_DIR": str(tmp_path),
           "DATABASE_URL": f"sqlite:///{tmp_path}/gc.sqlite3", "LVYUE_SECRET_KEY": "gc-test-secret-key-0123456789"}
    result = subprocess.run([sys.executable, "-c", HOOK], cwd=ROOT, env=env, capture_output=True, text=True,
                            timeout=120, check=False)
    assert result.returncode == 0, result.stderr[-2000:]
    before, after = map(int, result.stdout.split()[-2:])
    assert before == 0
    assert after > 50_000  # modules, mappers, schemas: never walked again by a full collection
