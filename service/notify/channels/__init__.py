"""Which channel carries each medium, as the settings say (EMAIL_CHANNEL, SMS_CHANNEL)."""

from __future__ import annotations

from service.config import EmailChannelKind, Settings, SmsChannelKind
from service.notify.channels.base import Channel, Medium
from service.notify.channels.govuk_notify import NotifyChannel
from service.notify.channels.outbox import OutboxChannel
from service.notify.channels.smtp import SmtpChannel


class ChannelSettingsError(ValueError):
    """A channel's settings are missing or malformed; the message names the setting."""


def build_channels(settings: Settings) -> dict[Medium, Channel]:
    """One instance per provider, shared by both media when both use it (one rate limit)."""
    outbox = OutboxChannel()
    notify: NotifyChannel | None = None
    try:
        if EmailChannelKind.govuk_notify in (settings.email_channel,) or (
            settings.sms_channel is SmsChannelKind.govuk_notify
        ):
            notify = NotifyChannel.from_settings(settings)
        email: Channel = {
            EmailChannelKind.outbox: outbox,
            EmailChannelKind.smtp: SmtpChannel.from_settings(settings)
            if settings.email_channel is EmailChannelKind.smtp
            else outbox,
            EmailChannelKind.govuk_notify: notify or outbox,
        }[settings.email_channel]
    except ValueError as exc:
        raise ChannelSettingsError(str(exc)) from exc
    sms: Channel = (
        notify if settings.sms_channel is SmsChannelKind.govuk_notify and notify else outbox
    )
    return {Medium.email: email, Medium.sms: sms}


async def close_channels(channels: dict[Medium, Channel]) -> None:
    for channel in {id(c): c for c in channels.values()}.values():
        await channel.aclose()
