"""Customers' pairing tokens: the SHA-256 of a secret the phone must show to pair a cart.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 12:00:00

Existing customers get NULL (no token) and cannot pair from a phone until staff issue one
(``POST /customers/{id}/pairing-token``).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("customers") as batch:
        batch.add_column(sa.Column("pairing_token_sha256", sa.String(length=64), nullable=True))
    op.create_index(
        op.f("ix_customers_pairing_token_sha256"),
        "customers",
        ["pairing_token_sha256"],
        unique=True,
    )


def downgrade() -> None:
    op.drop_index(op.f("ix_customers_pairing_token_sha256"), table_name="customers")
    with op.batch_alter_table("customers") as batch:
        batch.drop_column("pairing_token_sha256")
