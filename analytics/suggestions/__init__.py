"""Improvement suggestions (the learning manager): questions that went wrong, clustered, each cluster
turned into a concrete change with its evidence. ``evidence`` gathers the questions, ``clustering``
groups them, ``services`` keeps the suggestions in step with them (idempotently), and the page
lets an admin accept (open the prefilled edit) or dismiss each one."""
