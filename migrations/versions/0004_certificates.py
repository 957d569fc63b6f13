"""certificates: the issuer, wording, date and seal of an event's certificates

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22 09:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('certificate_templates',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.Integer(), nullable=False),
    sa.Column('issuer', sa.String(length=200), nullable=False),
    sa.Column('wording', sa.Text(), nullable=False),
    sa.Column('award_date', sa.Date(), nullable=False),
    sa.Column('seal_data', sa.LargeBinary(), nullable=True),
    sa.Column('seal_mime_type', sa.String(length=20), nullable=True),
    sa.Column('seal_width', sa.Integer(), nullable=True),
    sa.Column('seal_height', sa.Integer(), nullable=True),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.CheckConstraint(
        '(seal_data IS NULL AND seal_mime_type IS NULL AND seal_width IS NULL AND seal_height IS NULL)'
        ' OR (seal_data IS NOT NULL AND seal_mime_type IS NOT NULL'
        ' AND seal_width IS NOT NULL AND seal_height IS NOT NULL)',
        name=op.f('ck_certificate_templates_seal_complete')),
    sa.ForeignKeyConstraint(['event_id'], ['events.id'], name=op.f('fk_certificate_templates_event_id_events'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_certificate_templates')),
    sa.UniqueConstraint('event_id', name=op.f('uq_certificate_templates_event_id'))
    )


def downgrade():
    op.drop_table('certificate_templates')
