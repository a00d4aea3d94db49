from django.apps import AppConfig


class AlertsConfig(AppConfig):
    name = "apps.alerts"
    label = "alerts"

    def ready(self) -> None:
        from apps.alerts.metrics import AlertCountCollector
        from apps.core.metrics import scrape_time_register

        scrape_time_register(AlertCountCollector())
