import pkgutil
from importlib import import_module

from apps.dashboards import api

urlpatterns: list = []
for _info in pkgutil.iter_modules(api.__path__):
    if _info.name not in ("urls",) and not _info.name.startswith("_"):
        urlpatterns += import_module(f"{api.__name__}.{_info.name}").urlpatterns
