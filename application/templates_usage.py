"""The template usage policy: counts each use of a project template on the template
(``ProjectTemplate.UseCounted``, the read table's ``usage_count``) after the use committed.

A use is its own aggregate (``TemplateUse``), written with the project it made, so many
projects started at once from a popular template never contend on the template; this policy
follows the log and counts them one by one, exactly once (its position is saved with the
count). A use of a template deleted meanwhile counts nothing.
"""

from __future__ import annotations

from typing import Any

from application.errors import NotFound
from domain.templates import ProjectTemplate, TemplateUse
from projections.base import handles
from projections.policy import Policy, PolicyContext


class TemplateUsagePolicy(Policy):
    name = "template_usage"

    @handles(TemplateUse.Recorded)
    def used(self, ctx: PolicyContext, e: Any) -> None:
        try:
            template = ctx.load(ProjectTemplate, e.template_id)
        except NotFound:
            return
        if template.deleted:
            return
        template.count_use(e.originator_id)
        ctx.save(template)
