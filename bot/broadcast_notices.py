"""What subscribers and a broadcast's author read: the warning around the admin's words, its
audience by name, the delivery report, and the "report a hazard" button that messages to
subscribers carry (bot/awareness.py's too). When and to whom they go is bot/broadcasts.py's.
"""

from __future__ import annotations

import html

from bot.buttons import Space, encode
from bot.cards import Outgoing
from bot.i18n import N_, Translator
from bot.notify import Render
from bot.services import Services
from storage.broadcasts import Broadcast, DeliveryCounts

EXCERPT = 60
REPORT_BUTTON = N_("📣 Report a hazard")
REPORT_DATA = encode(Space.REPORT, "start")  # the report flow's own "start" button


def audience_name(services: Services, tr: Translator, district: str | None) -> str:
    if district is None:
        return tr.gettext("all subscribers")
    place = services.city.district(district)
    name = place.name.get(tr.language) if place is not None else district
    return tr.gettext("subscribers in {district}").format(district=html.escape(name))


def broadcast_message(services: Services, broadcast: Broadcast) -> Render:
    """The warning as each subscriber gets it, in their language around the admin's words."""

    def render(tr: Translator) -> Outgoing:
        city = html.escape(services.city.city.name.get(tr.language))
        title = tr.gettext("📢 Safety notice from {city}").format(city=city)
        text = f"<b>{title}</b>\n\n{html.escape(broadcast.text)}"
        photos = [broadcast.photo] if broadcast.photo else []
        return Outgoing(text, [[(tr.gettext(REPORT_BUTTON), REPORT_DATA)]], photos)

    return render


def delivery_report(services: Services, broadcast: Broadcast, counts: DeliveryCounts) -> Render:
    def render(tr: Translator) -> Outgoing:
        _ = tr.gettext
        excerpt = broadcast.text if len(broadcast.text) <= EXCERPT else broadcast.text[:EXCERPT]
        if excerpt != broadcast.text:
            excerpt += "…"
        lines = [
            "<b>" + _("Delivery report of your broadcast #{id}").format(id=broadcast.id) + "</b>",
            "“" + html.escape(" ".join(excerpt.split())) + "”",
            _("To: {audience}").format(audience=audience_name(services, tr, broadcast.district)),
            _("Delivered: {count}").format(count=counts.sent),
            _("Failed: {count}").format(count=counts.failed),
            _("Blocked the bot: {count}").format(count=counts.dropped),
        ]
        return Outgoing("\n".join(lines))

    return render
