#!/bin/sh
# Regenerate the initial migration from store/models.py. Use only while the schema
# has not been released; after a release, add a new revision with alembic instead.
set -eu
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
rm -f store/migrations/versions/0001_initial.py
.venv/bin/python - "$tmp" <<'PY'
import sys
from alembic import command
from store.db import alembic_config
config = alembic_config(f"sqlite:///{sys.argv[1]}/empty.db")
command.revision(config, message="create the story store", autogenerate=True, rev_id="0001")
PY
mv store/migrations/versions/0001_*.py store/migrations/versions/0001_initial.py
rm -rf "$tmp"
echo "wrote store/migrations/versions/0001_initial.py"
