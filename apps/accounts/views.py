"""Sign-in and sign-out pages. Lockouts are checked before any password is hashed."""

from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils import timezone

from apps.accounts import selectors, services
from apps.accounts.constants import LoginOutcome
from apps.core.http import client_ip


class LoginView(auth_views.LoginView):
    template_name = "registration/login.html"
    redirect_authenticated_user = True

    def post(self, request: HttpRequest, *args, **kwargs) -> HttpResponse:
        """Refuse with 429 while the username or the IP is locked; otherwise sign in."""
        username = services.normalize_username(request.POST.get("username", ""))
        ip = client_ip(request)
        wait_s = selectors.login_lockout_remaining_s(username=username, ip=ip, now=timezone.now())
        if wait_s:
            services.login_attempt_record(
                username=username,
                ip=ip,
                outcome=LoginOutcome.LOCKED,
                user_agent=request.META.get("HTTP_USER_AGENT", ""),
            )
            return self.locked_response(wait_s)
        return super().post(request, *args, **kwargs)

    def locked_response(self, wait_s: int) -> HttpResponse:
        # The same answer whether or not the username exists: nothing to enumerate.
        context = self.get_context_data(
            form=self.get_form_class()(self.request),
            locked=True,
            retry_after_min=max(1, -(-wait_s // 60)),
        )
        response = TemplateResponse(self.request, self.template_name, context, status=429)
        response["Retry-After"] = str(wait_s)
        return response


class LogoutView(auth_views.LogoutView):
    template_name = "registration/logged_out.html"
