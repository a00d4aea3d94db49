"""A plain Django view's allowed methods: any other is a 405 in the API's error envelope."""

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.http import HttpRequest, HttpResponse

from apps.core.errors import error_response

View = Callable[..., HttpResponse]


def methods_only(*methods: str) -> Callable[[View], View]:
    """Let only `methods` through to the view; any other method is answered 405 in the error
    envelope with `Allow` (Django's require_http_methods answers an empty text/html 405)."""
    allow = ", ".join(methods)

    def decorate(view: View) -> View:
        @wraps(view)
        def guarded(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if request.method not in methods:
                message = f"Method {request.method} not allowed; use {allow}."
                return error_response(405, message, headers={"Allow": allow})
            return view(request, *args, **kwargs)

        return guarded

    return decorate
