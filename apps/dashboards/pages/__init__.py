"""The dashboard pages, one module each, found by listing this package.

A page module declares `PAGE = PageEntry(slug, label, order)` and `urlpatterns`, whose first
pattern is the page itself, named after the slug and mounted at /ui/<slug>/ (the overview,
slug "overview", at /ui/). The same list feeds the URLs and the header's navigation.
"""

import pkgutil
from importlib import import_module
from types import ModuleType
from typing import NamedTuple

OVERVIEW = "overview"


class PageEntry(NamedTuple):
    slug: str  # module name, URL segment under /ui/ and the page's URL name
    label: str  # navigation text
    order: int  # position in the navigation


def page_modules() -> list[ModuleType]:
    """Every page module of this package, in navigation order."""
    modules = [
        import_module(f"{__name__}.{info.name}")
        for info in pkgutil.iter_modules(__path__)
        if not info.name.startswith("_")
    ]
    return sorted(modules, key=lambda module: module.PAGE.order)


PAGES: tuple[PageEntry, ...] = tuple(module.PAGE for module in page_modules())
