"""Template helpers shared by every page: local times, charts, empty states, badges."""

import time
from datetime import UTC, datetime

from django import template
from django.utils.html import format_html

from apps.dashboards.examples import EXAMPLES

register = template.Library()


def _as_datetime(value) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    return datetime.fromtimestamp(float(value), tz=UTC)  # epoch seconds


@register.simple_tag
def when(value, empty: str = "—"):
    """A <time> in UTC that the page's script rewrites into the viewer's timezone."""
    moment = _as_datetime(value)
    if moment is None:
        return empty
    moment = moment.astimezone(UTC)
    return format_html(
        '<time datetime="{}" data-local>{} UTC</time>',
        moment.isoformat(timespec="milliseconds"),
        moment.strftime("%Y-%m-%d %H:%M:%S"),
    )


@register.inclusion_tag("dashboards/_empty.html")
def empty_state(kind: str):
    """What to send to see data on this page, with a copy-paste example."""
    return {"example": EXAMPLES[kind].at(time.time()), "kind": kind}


@register.inclusion_tag("dashboards/_chart.html")
def chart(
    chart_id: str,
    src: str,
    title: str,
    adapter: str = "metrics",
    range_s: int = 3600,
    kind: str = "line",
    height: int = 220,
    unit: str = "",
):
    """A chart drawn by static/js/aivmon.js from the JSON the public API answers at `src`.

    `range_s` makes the script append start/end (now − range … now) on every refresh;
    0 leaves `src` as it is. `adapter` names the function turning the answer into lines.
    """
    return {
        "id": chart_id,
        "src": src,
        "title": title,
        "adapter": adapter,
        "range_s": range_s,
        "kind": kind,
        "height": height,
        "unit": unit,
    }


@register.simple_tag
def badge(value: str, label: str = ""):
    """A coloured label for a severity, state or status (class `badge-<value>`)."""
    text = label or value
    return format_html('<span class="badge badge-{}">{}</span>', str(value).lower(), text)


@register.simple_tag(takes_context=True)
def live_attrs(context, region_id: str = "live"):
    """Attributes making an element refresh itself from the page every 10 s while live is on.

    The page is fetched again and only the element with the same id is swapped in (htmx
    `hx-select`), so one view serves both the page and its refreshes.
    """
    request = context["request"]
    return format_html(
        'id="{id}" data-live hx-get="{url}" hx-select="#{id}" hx-target="this" '
        'hx-swap="outerHTML" hx-trigger="every 10s [aivmon.isLive()], aivmon:refresh from:body"',
        id=region_id,
        url=request.get_full_path(),
    )
