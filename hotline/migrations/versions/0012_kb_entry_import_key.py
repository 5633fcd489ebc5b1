"""An entry's key in the knowledge base it was imported from, so that importing the same file again updates it.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-22 01:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("kb_entries", schema=None) as batch_op:
        batch_op.add_column(sa.Column("import_key", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=True))
        batch_op.create_index("ix_kb_entries_import_key", ["import_key"], unique=True)


def downgrade() -> None:
    with op.batch_alter_table("kb_entries", schema=None) as batch_op:
        batch_op.drop_index("ix_kb_entries_import_key")
        batch_op.drop_column("import_key")
