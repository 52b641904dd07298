"""What the release module adds to lower apps when analytics is ready: the rollout gate
"readiness", the Rollout page's guarded-rollout card, and its Celery tasks."""


def register() -> None:
    from analytics.release import tasks  # noqa: F401 - registers the guarded-rollout tasks
    from analytics.release.readiness import readiness_gate_register
    from analytics.release.sections import guarded_rollout_section
    from rollout.pages import flag_page_section_register

    readiness_gate_register()
    # Above the shadow comparisons (position 100): a rollback is the first thing to see.
    flag_page_section_register("guarded_rollout", guarded_rollout_section, position=50)
