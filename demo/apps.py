from django.apps import AppConfig


class DemoConfig(AppConfig):
    """Seeds the demo account. It sits above every domain app, because seeding one
    account touches all of them."""

    name = "demo"
    verbose_name = "Demo data"
