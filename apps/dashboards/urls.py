from django.urls import include, path

from apps.dashboards.pages import OVERVIEW, page_modules

app_name = "dashboards"


def _mount(slug: str) -> str:
    return "" if slug == OVERVIEW else f"{slug}/"


urlpatterns = [
    path(_mount(module.PAGE.slug), include(module.urlpatterns)) for module in page_modules()
]
