from django.http import HttpRequest

from apps.dashboards.pages import PAGES

UI_PREFIX = "/ui/"


def navigation(request: HttpRequest) -> dict:
    """The pages for the header, with the one being viewed (by its /ui/<slug>/ path) marked."""
    path = getattr(request, "path", "")
    current = None
    if path.startswith(UI_PREFIX):
        current = path[len(UI_PREFIX) :].split("/", 1)[0] or PAGES[0].slug
    return {"nav_pages": PAGES, "nav_current": current}
