"""sealed ballot box: ballot boxes, trustees, sealed ballots, receipts in their own table

Receipt hashes move out of ballots into receipts, so that a receipt leads to no ballot's
content. Existing events keep their plain ballots and are marked unsealed.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 01:22:22.980930

"""
from alembic import op
import sqlalchemy as sa

import voting.database


# revision identifiers, used by Alembic.
revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('ballot_boxes',
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('threshold', sa.Integer(), nullable=False),
    sa.Column('public_key', sa.LargeBinary(length=32), nullable=True),
    sa.Column('fingerprint', sa.String(length=64), nullable=True),
    sa.Column('ceremony_salt', sa.LargeBinary(length=32), nullable=True),
    sa.Column('ceremony_started_at', voting.database.UTCDateTime(), nullable=True),
    sa.Column('ceremony_completed_at', voting.database.UTCDateTime(), nullable=True),
    sa.Column('closed_at', voting.database.UTCDateTime(), nullable=True),
    sa.Column('commitment', sa.String(length=64), nullable=True),
    sa.Column('sealed_hashes', sa.Text(), nullable=True),
    sa.Column('opened_at', voting.database.UTCDateTime(), nullable=True),
    sa.Column('plain_sha256', sa.String(length=64), nullable=True),
    sa.ForeignKeyConstraint(['event_id'], ['events.id'], name=op.f('fk_ballot_boxes_event_id_events'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('event_id', name=op.f('pk_ballot_boxes'))
    )
    op.create_table('receipts',
    sa.Column('receipt_hash', sa.String(length=64), nullable=False),
    sa.Column('category_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['category_id'], ['categories.id'], name=op.f('fk_receipts_category_id_categories'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('receipt_hash', name=op.f('pk_receipts')),
    sqlite_with_rowid=False
    )
    with op.batch_alter_table('receipts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_receipts_category_id'), ['category_id'], unique=False)

    op.create_table('sealed_ballots',
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('category_id', sa.Integer(), nullable=False),
    sa.Column('sealed', sa.LargeBinary(length=600), nullable=False),
    sa.ForeignKeyConstraint(['category_id'], ['categories.id'], name=op.f('fk_sealed_ballots_category_id_categories'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sealed_ballots')),
    sqlite_with_rowid=False
    )
    with op.batch_alter_table('sealed_ballots', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sealed_ballots_category_id'), ['category_id'], unique=False)

    op.create_table('trustees',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('share_shown_at', voting.database.UTCDateTime(), nullable=True),
    sa.Column('confirmed_at', voting.database.UTCDateTime(), nullable=True),
    sa.ForeignKeyConstraint(['event_id'], ['ballot_boxes.event_id'], name=op.f('fk_trustees_event_id_ballot_boxes'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_trustees_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_trustees')),
    sa.UniqueConstraint('event_id', 'position', name='uq_trustees_event_position'),
    sa.UniqueConstraint('event_id', 'user_id', name='uq_trustees_event_user')
    )
    with op.batch_alter_table('trustees', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_trustees_event_id'), ['event_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_trustees_user_id'), ['user_id'], unique=False)

    op.execute("INSERT INTO receipts (receipt_hash, category_id) SELECT receipt_hash, category_id FROM ballots")
    # The rebuilt table keeps no rowid, so SQLite still stores ballots in the order of their random ids.
    with op.batch_alter_table('ballots', schema=None, table_kwargs={"sqlite_with_rowid": False}) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_ballots_receipt_hash'), type_='unique')
        batch_op.drop_column('receipt_hash')

    # Events that exist already were voted in plainly: they stay unsealed.
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sealed', sa.Boolean(), nullable=False, server_default=sa.false()))
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.alter_column('sealed', server_default=None)


def _refuse_unopened_boxes():
    """Before 0006 every ballot was plain; a sealed ballot has no plain form without the trustees."""
    sealed = op.get_bind().execute(sa.text("SELECT COUNT(*) FROM sealed_ballots")).scalar()
    if sealed:
        raise RuntimeError(
            f"{sealed} ballots are still sealed: open their boxes (voting open-box) before downgrading; nothing was changed")


def _receipts_back_to_ballots():
    """Gives each plain ballot one of its category's receipt hashes. Which one cannot be known (that
    is the point of 0006), and before it a receipt only ever told whether its ballot was counted."""
    bind = op.get_bind()
    receipts = {}
    for receipt_hash, category_id in bind.execute(sa.text("SELECT receipt_hash, category_id FROM receipts ORDER BY receipt_hash")):
        receipts.setdefault(category_id, []).append(receipt_hash)
    for ballot_id, category_id in bind.execute(sa.text("SELECT id, category_id FROM ballots ORDER BY id")).all():
        spare = receipts.get(category_id) or []
        receipt_hash = spare.pop() if spare else ballot_id.ljust(64, "0")
        bind.execute(sa.text("UPDATE ballots SET receipt_hash = :h WHERE id = :i"), {"h": receipt_hash, "i": ballot_id})


def downgrade():
    _refuse_unopened_boxes()
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.drop_column('sealed')

    with op.batch_alter_table('ballots', schema=None) as batch_op:
        batch_op.add_column(sa.Column('receipt_hash', sa.VARCHAR(length=64), nullable=True))
    _receipts_back_to_ballots()
    with op.batch_alter_table('ballots', schema=None, table_kwargs={"sqlite_with_rowid": False}) as batch_op:
        batch_op.alter_column('receipt_hash', existing_type=sa.VARCHAR(length=64), nullable=False)
        batch_op.create_unique_constraint(batch_op.f('uq_ballots_receipt_hash'), ['receipt_hash'])

    with op.batch_alter_table('trustees', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_trustees_user_id'))
        batch_op.drop_index(batch_op.f('ix_trustees_event_id'))

    op.drop_table('trustees')
    with op.batch_alter_table('sealed_ballots', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sealed_ballots_category_id'))

    op.drop_table('sealed_ballots')
    with op.batch_alter_table('receipts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_receipts_category_id'))

    op.drop_table('receipts')
    op.drop_table('ballot_boxes')
