"""Protocol bookkeeping of the webhook: the nonces seen inside the replay window."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from bot.db import Base, UTCDateTime


class WebhookNonce(Base):
    """A nonce of a signed POST, kept until the replay window has passed (shared by every process)."""

    __tablename__ = "webhook_nonce"

    nonce: Mapped[str] = mapped_column(String(64), primary_key=True)
    # The message it carried: the same nonce with the same message is a duplicate delivery, with another a replay.
    dedupe_key: Mapped[str] = mapped_column(String(160))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
