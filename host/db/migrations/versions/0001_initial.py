"""Initial schema: catalog, customers, ledger, cart event stream, checkout, dead letters.

Revision ID: 0001
Revises:
Create Date: 2026-11-25 08:30:18.048579
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "carts",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("applied_seq", sa.BigInteger(), nullable=False),
        sa.Column("current_session_id", sa.String(length=36), nullable=True),
        sa.Column("online", sa.Boolean(), nullable=False),
        sa.Column("firmware", sa.String(length=64), nullable=True),
        sa.Column("status_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("applied_seq >= 0", name=op.f("ck_carts_applied_seq_non_negative")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_carts")),
    )
    op.create_table(
        "customers",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_customers")),
    )
    op.create_table(
        "dead_letters",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("topic", sa.Text(), nullable=False),
        sa.Column("payload", sa.LargeBinary(), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dead_letters")),
    )
    with op.batch_alter_table("dead_letters", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_dead_letters_reason"), ["reason"], unique=False)

    op.create_table(
        "products",
        sa.Column("sku", sa.String(length=80), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("department", sa.String(length=60), nullable=False),
        sa.Column("pricing", sa.String(length=16), nullable=False),
        sa.Column("price_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("unit_weight_g", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "pricing IN ('per_unit', 'per_kg')", name=op.f("ck_products_pricing_known")
        ),
        sa.CheckConstraint("price_minor >= 0", name=op.f("ck_products_price_non_negative")),
        sa.PrimaryKeyConstraint("sku", name=op.f("pk_products")),
    )
    op.create_table(
        "accounts",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("customer_id", sa.String(length=36), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_accounts_customer_id_customers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_accounts")),
        sa.UniqueConstraint("customer_id", name=op.f("uq_accounts_customer_id")),
    )
    op.create_table(
        "pending_events",
        sa.Column("cart_id", sa.String(length=64), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("event_id", sa.String(length=36), nullable=False),
        sa.Column("payload", sa.LargeBinary(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["cart_id"], ["carts.id"], name=op.f("fk_pending_events_cart_id_carts")
        ),
        sa.PrimaryKeyConstraint("cart_id", "seq", name=op.f("pk_pending_events")),
        sa.UniqueConstraint("event_id", name=op.f("uq_pending_events_event_id")),
    )
    op.create_table(
        "sessions",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("cart_id", sa.String(length=64), nullable=False),
        sa.Column("customer_id", sa.String(length=36), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_seq", sa.BigInteger(), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("open_unresolved", sa.Integer(), nullable=False),
        sa.Column("basket_stale", sa.Boolean(), nullable=False),
        sa.Column("reconciled_seq", sa.BigInteger(), nullable=True),
        sa.CheckConstraint(
            "status IN ('active', 'unresolved', 'checked_out', 'abandoned')",
            name=op.f("ck_sessions_status_known"),
        ),
        sa.CheckConstraint(
            "open_unresolved >= 0", name=op.f("ck_sessions_open_unresolved_non_negative")
        ),
        sa.ForeignKeyConstraint(["cart_id"], ["carts.id"], name=op.f("fk_sessions_cart_id_carts")),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_sessions_customer_id_customers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sessions")),
    )
    with op.batch_alter_table("sessions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sessions_cart_id"), ["cart_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_sessions_customer_id"), ["customer_id"], unique=False)

    op.create_table(
        "applied_events",
        sa.Column("event_id", sa.String(length=36), nullable=False),
        sa.Column("cart_id", sa.String(length=64), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("session_id", sa.String(length=36), nullable=False),
        sa.Column("type", sa.String(length=16), nullable=False),
        sa.Column("sku", sa.String(length=80), nullable=True),
        sa.Column("grams", sa.Integer(), nullable=True),
        sa.Column("action", sa.String(length=8), nullable=True),
        sa.Column("resolves", sa.String(length=36), nullable=True),
        sa.Column("effective", sa.Boolean(), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("applied_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["cart_id"], ["carts.id"], name=op.f("fk_applied_events_cart_id_carts")
        ),
        sa.ForeignKeyConstraint(
            ["session_id"], ["sessions.id"], name=op.f("fk_applied_events_session_id_sessions")
        ),
        sa.PrimaryKeyConstraint("event_id", name=op.f("pk_applied_events")),
        sa.UniqueConstraint("cart_id", "seq", name="uq_applied_events_cart_seq"),
    )
    with op.batch_alter_table("applied_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_applied_events_resolves"), ["resolves"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_applied_events_session_id"), ["session_id"], unique=False
        )

    op.create_table(
        "basket_lines",
        sa.Column("session_id", sa.String(length=36), nullable=False),
        sa.Column("sku", sa.String(length=80), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("grams", sa.Integer(), nullable=True),
        sa.CheckConstraint("quantity >= 0", name=op.f("ck_basket_lines_quantity_non_negative")),
        sa.ForeignKeyConstraint(
            ["session_id"], ["sessions.id"], name=op.f("fk_basket_lines_session_id_sessions")
        ),
        sa.ForeignKeyConstraint(
            ["sku"], ["products.sku"], name=op.f("fk_basket_lines_sku_products")
        ),
        sa.PrimaryKeyConstraint("session_id", "sku", name=op.f("pk_basket_lines")),
    )
    op.create_table(
        "checkout_attempts",
        sa.Column("request_id", sa.String(length=36), nullable=False),
        sa.Column("session_id", sa.String(length=36), nullable=False),
        sa.Column("cart_id", sa.String(length=64), nullable=False),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=True),
        sa.Column("tries", sa.Integer(), nullable=False),
        sa.Column("first_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "outcome IN ('charged', 'refused')", name=op.f("ck_checkout_attempts_outcome_known")
        ),
        sa.ForeignKeyConstraint(
            ["session_id"], ["sessions.id"], name=op.f("fk_checkout_attempts_session_id_sessions")
        ),
        sa.PrimaryKeyConstraint("request_id", name=op.f("pk_checkout_attempts")),
    )
    with op.batch_alter_table("checkout_attempts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_checkout_attempts_session_id"), ["session_id"], unique=False
        )
        batch_op.create_index(
            "uq_checkout_attempts_one_charge",
            ["session_id"],
            unique=True,
            sqlite_where=sa.text("outcome = 'charged'"),
            postgresql_where=sa.text("outcome = 'charged'"),
        )

    op.create_table(
        "ledger_transactions",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("idempotency_key", sa.String(length=80), nullable=True),
        sa.Column("memo", sa.String(length=200), nullable=False),
        sa.Column("session_id", sa.String(length=36), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["session_id"], ["sessions.id"], name=op.f("fk_ledger_transactions_session_id_sessions")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_transactions")),
        sa.UniqueConstraint("idempotency_key", name=op.f("uq_ledger_transactions_idempotency_key")),
    )
    op.create_table(
        "ledger_entries",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("transaction_id", sa.String(length=36), nullable=False),
        sa.Column("account_id", sa.String(length=64), nullable=False),
        sa.Column("debit_minor", sa.BigInteger(), nullable=False),
        sa.Column("credit_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.CheckConstraint(
            "(debit_minor > 0 AND credit_minor = 0) OR (debit_minor = 0 AND credit_minor > 0)",
            name=op.f("ck_ledger_entries_one_positive_side"),
        ),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_ledger_entries_account_id_accounts")
        ),
        sa.ForeignKeyConstraint(
            ["transaction_id"],
            ["ledger_transactions.id"],
            name=op.f("fk_ledger_entries_transaction_id_ledger_transactions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ledger_entries")),
    )
    with op.batch_alter_table("ledger_entries", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_ledger_entries_account_id"), ["account_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_ledger_entries_transaction_id"), ["transaction_id"], unique=False
        )

    op.create_table(
        "receipts",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("session_id", sa.String(length=36), nullable=False),
        sa.Column("request_id", sa.String(length=36), nullable=False),
        sa.Column("customer_id", sa.String(length=36), nullable=False),
        sa.Column("cart_id", sa.String(length=64), nullable=False),
        sa.Column("total_minor", sa.BigInteger(), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("balance_after_minor", sa.BigInteger(), nullable=False),
        sa.Column("transaction_id", sa.String(length=36), nullable=True),
        sa.Column("charged_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"], ["customers.id"], name=op.f("fk_receipts_customer_id_customers")
        ),
        sa.ForeignKeyConstraint(
            ["session_id"], ["sessions.id"], name=op.f("fk_receipts_session_id_sessions")
        ),
        sa.ForeignKeyConstraint(
            ["transaction_id"],
            ["ledger_transactions.id"],
            name=op.f("fk_receipts_transaction_id_ledger_transactions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_receipts")),
        sa.UniqueConstraint("request_id", name=op.f("uq_receipts_request_id")),
        sa.UniqueConstraint("session_id", name=op.f("uq_receipts_session_id")),
    )
    with op.batch_alter_table("receipts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_receipts_customer_id"), ["customer_id"], unique=False)

    op.create_table(
        "receipt_lines",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("receipt_id", sa.String(length=36), nullable=False),
        sa.Column("line_no", sa.Integer(), nullable=False),
        sa.Column("sku", sa.String(length=80), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("pricing", sa.String(length=16), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("grams", sa.Integer(), nullable=True),
        sa.Column("unit_price_minor", sa.BigInteger(), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["receipt_id"], ["receipts.id"], name=op.f("fk_receipt_lines_receipt_id_receipts")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_receipt_lines")),
        sa.UniqueConstraint("receipt_id", "line_no", name="uq_receipt_lines_no"),
    )
    with op.batch_alter_table("receipt_lines", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_receipt_lines_receipt_id"), ["receipt_id"], unique=False
        )

    op.create_table(
        "receipt_adjustments",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "receipt_line_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("amount_minor", sa.BigInteger(), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=True),
        sa.Column("grams", sa.Integer(), nullable=True),
        sa.Column("reason", sa.String(length=200), nullable=False),
        sa.Column("transaction_id", sa.String(length=36), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["receipt_line_id"],
            ["receipt_lines.id"],
            name=op.f("fk_receipt_adjustments_receipt_line_id_receipt_lines"),
        ),
        sa.ForeignKeyConstraint(
            ["transaction_id"],
            ["ledger_transactions.id"],
            name=op.f("fk_receipt_adjustments_transaction_id_ledger_transactions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_receipt_adjustments")),
    )
    with op.batch_alter_table("receipt_adjustments", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_receipt_adjustments_receipt_line_id"), ["receipt_line_id"], unique=False
        )

    _ledger_triggers_up()


def downgrade() -> None:
    _ledger_triggers_down()
    with op.batch_alter_table("receipt_adjustments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_receipt_adjustments_receipt_line_id"))

    op.drop_table("receipt_adjustments")
    with op.batch_alter_table("receipt_lines", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_receipt_lines_receipt_id"))

    op.drop_table("receipt_lines")
    with op.batch_alter_table("receipts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_receipts_customer_id"))

    op.drop_table("receipts")
    with op.batch_alter_table("ledger_entries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ledger_entries_transaction_id"))
        batch_op.drop_index(batch_op.f("ix_ledger_entries_account_id"))

    op.drop_table("ledger_entries")
    op.drop_table("ledger_transactions")
    with op.batch_alter_table("checkout_attempts", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_checkout_attempts_one_charge",
            sqlite_where=sa.text("outcome = 'charged'"),
            postgresql_where=sa.text("outcome = 'charged'"),
        )
        batch_op.drop_index(batch_op.f("ix_checkout_attempts_session_id"))

    op.drop_table("checkout_attempts")
    op.drop_table("basket_lines")
    with op.batch_alter_table("applied_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_applied_events_session_id"))
        batch_op.drop_index(batch_op.f("ix_applied_events_resolves"))

    op.drop_table("applied_events")
    with op.batch_alter_table("sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sessions_customer_id"))
        batch_op.drop_index(batch_op.f("ix_sessions_cart_id"))

    op.drop_table("sessions")
    op.drop_table("pending_events")
    op.drop_table("accounts")
    op.drop_table("products")
    with op.batch_alter_table("dead_letters", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_dead_letters_reason"))

    op.drop_table("dead_letters")
    op.drop_table("customers")
    op.drop_table("carts")


# The ledger rules, enforced by the database too (host.ledger enforces them in code first).
# Entries are append-only on every backend; PostgreSQL also checks at commit that each
# transaction balances per currency (a deferred constraint trigger, so the entries of one
# transaction can be inserted one by one).
_PG_BALANCED = """
CREATE FUNCTION ledger_check_balanced() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (
        SELECT 1 FROM ledger_entries WHERE transaction_id = NEW.transaction_id
        GROUP BY currency HAVING SUM(debit_minor) <> SUM(credit_minor)
    ) THEN
        RAISE EXCEPTION 'ledger transaction % does not balance', NEW.transaction_id;
    END IF;
    RETURN NULL;
END $$;
CREATE CONSTRAINT TRIGGER ledger_entries_balanced AFTER INSERT ON ledger_entries
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION ledger_check_balanced();
CREATE FUNCTION ledger_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'ledger entries are append-only';
END $$;
CREATE TRIGGER ledger_entries_append_only BEFORE UPDATE OR DELETE ON ledger_entries
    FOR EACH ROW EXECUTE FUNCTION ledger_append_only();
"""

_SQLITE_APPEND_ONLY = [
    f"""CREATE TRIGGER ledger_entries_no_{op_name} BEFORE {op_name.upper()} ON ledger_entries
    BEGIN SELECT RAISE(ABORT, 'ledger entries are append-only'); END"""
    for op_name in ("update", "delete")
]


def _ledger_triggers_up() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_PG_BALANCED)
    else:
        for ddl in _SQLITE_APPEND_ONLY:
            op.execute(ddl)


def _ledger_triggers_down() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER ledger_entries_append_only ON ledger_entries")
        op.execute("DROP TRIGGER ledger_entries_balanced ON ledger_entries")
        op.execute("DROP FUNCTION ledger_append_only()")
        op.execute("DROP FUNCTION ledger_check_balanced()")
    else:
        op.execute("DROP TRIGGER ledger_entries_no_update")
        op.execute("DROP TRIGGER ledger_entries_no_delete")
