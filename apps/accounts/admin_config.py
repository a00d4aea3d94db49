from django.contrib.admin.apps import AdminConfig


class AivmonAdminConfig(AdminConfig):
    """Django's admin on aivmon's site class (admin role only, audited)."""

    default_site = "apps.accounts.admin_site.AivmonAdminSite"
