"""The layer and the dev tools are installed packages (`make setup`), not paths a test runner or
the Makefile adds: they import from any directory, with the venv's interpreter alone."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[2]


def test_the_packages_import_from_anywhere_and_are_typed(tmp_path: Path) -> None:
    code = (
        "import json, importlib.metadata as m, importlib.resources as r, fleetbridge, local;"
        "print(json.dumps({"
        "'fleetbridge': fleetbridge.__file__, 'local': local.__file__,"
        "'requires': m.requires('fleetbridge-layer'),"
        "'typed': [r.files(p).joinpath('py.typed').is_file() for p in ('fleetbridge', 'local')]"
        "}))"
    )
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    done = subprocess.run(
        [sys.executable, "-I", "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    found = json.loads(done.stdout)
    assert Path(found["fleetbridge"]) == ROOT / "layers/fleetbridge/fleetbridge/__init__.py"
    assert Path(found["local"]) == ROOT / "local/__init__.py"
    assert found["typed"] == [True, True]  # PEP 561: type checkers read the installed packages
    # the layer's dependencies are the ones `sam build` bundles (its requirements.txt)
    bundled = [
        str(Requirement(line))
        for line in (ROOT / "layers/fleetbridge/requirements.txt").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert sorted(str(Requirement(r)) for r in found["requires"]) == sorted(bundled)
