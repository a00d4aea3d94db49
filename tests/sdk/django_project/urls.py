from django.contrib.auth import authenticate, login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.urls import path


def sign_in(request: HttpRequest) -> HttpResponse:
    user = authenticate(
        request, username=request.POST.get("username"), password=request.POST.get("password")
    )
    if user is None:
        return HttpResponse("wrong name or password", status=401)
    login(request, user)
    return HttpResponse("welcome")


def search(request: HttpRequest) -> HttpResponse:
    return HttpResponse(f"results for {request.GET.get('q', '')!r}")


def staff_only(request: HttpRequest) -> HttpResponse:
    raise PermissionDenied


urlpatterns = [
    path("login/", sign_in),
    path("search/", search),
    path("staff/", staff_only),
]
