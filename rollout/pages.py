"""Sections that higher apps add to the Rollout page of a flag.

Rollout sits below the apps whose data a rollout decision is judged by, so it cannot read
their rows. An app that has something to show beside a flag (conversations shows the shadow
answers) registers a section from its ``AppConfig.ready``; the page renders each registered
section, in ``position`` order, between the flag's controls and its history.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from django.http import HttpRequest
from django.template.loader import render_to_string
from django.utils.safestring import SafeString

from accounts.models import Account
from rollout.models import Flag


@dataclass(frozen=True)
class FlagPageSection:
    template_name: str
    context: dict = field(default_factory=dict)


# A section's render: (account, flag, request) as keywords -> the template and its context.
SectionRender = Callable[..., FlagPageSection]


@dataclass(frozen=True)
class _Registered:
    render: SectionRender
    position: int


FLAG_PAGE_SECTIONS: dict[str, _Registered] = {}


def flag_page_section_register(key: str, render: SectionRender, *, position: int = 100) -> None:
    """Add (or replace, under the same key) a section of the flag page."""
    FLAG_PAGE_SECTIONS[key] = _Registered(render=render, position=position)


def flag_page_sections_render(*, account: Account, flag: Flag, request: HttpRequest) -> list[SafeString]:
    """Each registered section rendered to HTML, in position order."""
    html = []
    for registered in sorted(FLAG_PAGE_SECTIONS.values(), key=lambda r: r.position):
        section = registered.render(account=account, flag=flag, request=request)
        html.append(render_to_string(section.template_name, section.context, request=request))
    return html
