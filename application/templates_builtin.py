"""The built-in public project templates that ``worksync templates seed`` loads, so that a new
instance is not empty. Each has a slug (its fixed id: loading twice creates nothing twice).
Durations are working days; task keys name dependencies within a template."""

from __future__ import annotations

from typing import Any


def _task(key: str, title: str, hours: float, skills: list[str], *deps: str) -> dict[str, Any]:
    return {
        "key": key,
        "title": title,
        "estimated_hours": hours,
        "required_skills": skills,
        "dependencies": list(deps),
    }


BUILTIN_TEMPLATES: list[dict[str, Any]] = [
    {
        "slug": "software-release",
        "name": "Software release",
        "description": "From scope to a shipped, announced release: plan, build, harden, "
        "release and follow up.",
        "category": "Engineering",
        "tags": ["software", "release", "agile"],
        "phases": [
            {
                "name": "Planning",
                "description": "Agree on what ships and when.",
                "estimated_duration": 5,
                "tasks": [
                    _task("scope", "Define the release scope", 6, ["product"]),
                    _task(
                        "estimate", "Estimate and prioritise the backlog", 4, ["planning"], "scope"
                    ),
                    _task("plan", "Write the release plan", 3, ["planning"], "estimate"),
                ],
            },
            {
                "name": "Development",
                "description": "Build the features behind flags.",
                "estimated_duration": 15,
                "tasks": [
                    _task("design", "Technical design review", 6, ["architecture"], "plan"),
                    _task("build", "Implement the features", 80, ["development"], "design"),
                    _task("docs", "Update the user documentation", 12, ["writing"], "design"),
                ],
            },
            {
                "name": "Stabilisation",
                "description": "Freeze, test and fix.",
                "estimated_duration": 5,
                "tasks": [
                    _task("freeze", "Code freeze and release branch", 2, ["development"], "build"),
                    _task("qa", "Regression and acceptance testing", 24, ["qa"], "freeze"),
                    _task("fixes", "Fix release blockers", 16, ["development"], "qa"),
                ],
            },
            {
                "name": "Release",
                "description": "Ship it and tell the world.",
                "estimated_duration": 2,
                "tasks": [
                    _task("notes", "Write the release notes", 3, ["writing"], "fixes", "docs"),
                    _task("deploy", "Deploy to production", 4, ["operations"], "fixes"),
                    _task("announce", "Announce the release", 2, ["marketing"], "deploy", "notes"),
                ],
            },
            {
                "name": "Follow-up",
                "estimated_duration": 3,
                "tasks": [
                    _task("monitor", "Monitor errors and feedback", 6, ["operations"], "deploy"),
                    _task("retro", "Release retrospective", 2, ["facilitation"], "monitor"),
                ],
            },
        ],
    },
    {
        "slug": "marketing-campaign",
        "name": "Marketing campaign",
        "description": "A multi-channel campaign: brief, creative, launch and measurement.",
        "category": "Marketing",
        "tags": ["marketing", "campaign", "launch"],
        "phases": [
            {
                "name": "Brief",
                "estimated_duration": 3,
                "tasks": [
                    _task("goals", "Set goals and KPIs", 3, ["strategy"]),
                    _task("audience", "Define the target audience", 4, ["research"], "goals"),
                    _task("budget", "Agree on the budget and channels", 2, ["strategy"], "goals"),
                ],
            },
            {
                "name": "Creative",
                "estimated_duration": 10,
                "tasks": [
                    _task("message", "Write the key messages", 6, ["copywriting"], "audience"),
                    _task("visuals", "Design the visuals", 20, ["design"], "message"),
                    _task("landing", "Build the landing page", 12, ["web"], "message"),
                    _task(
                        "review", "Review with stakeholders", 3, ["strategy"], "visuals", "landing"
                    ),
                ],
            },
            {
                "name": "Launch",
                "estimated_duration": 5,
                "tasks": [
                    _task(
                        "ads", "Set up the paid campaigns", 8, ["advertising"], "review", "budget"
                    ),
                    _task("email", "Send the e-mail campaign", 4, ["email"], "review"),
                    _task("social", "Publish on social media", 6, ["social media"], "review"),
                ],
            },
            {
                "name": "Measure",
                "estimated_duration": 10,
                "tasks": [
                    _task(
                        "track", "Track the KPIs weekly", 6, ["analytics"], "ads", "email", "social"
                    ),
                    _task("report", "Write the campaign report", 5, ["analytics"], "track"),
                ],
            },
        ],
    },
    {
        "slug": "client-onboarding",
        "name": "Client onboarding",
        "description": "Welcome a new client: kick-off, setup, training and a first review.",
        "category": "Customer success",
        "tags": ["client", "onboarding", "services"],
        "phases": [
            {
                "name": "Kick-off",
                "estimated_duration": 2,
                "tasks": [
                    _task(
                        "contract", "Check the signed contract and scope", 1, ["account management"]
                    ),
                    _task(
                        "kickoff",
                        "Hold the kick-off meeting",
                        2,
                        ["account management"],
                        "contract",
                    ),
                ],
            },
            {
                "name": "Setup",
                "estimated_duration": 5,
                "tasks": [
                    _task("accounts", "Create the client's accounts", 2, ["support"], "kickoff"),
                    _task("data", "Import the client's data", 8, ["data"], "accounts"),
                    _task(
                        "integrations", "Connect the integrations", 6, ["integration"], "accounts"
                    ),
                ],
            },
            {
                "name": "Training",
                "estimated_duration": 5,
                "tasks": [
                    _task("admins", "Train the administrators", 4, ["training"], "data"),
                    _task("users", "Train the users", 6, ["training"], "admins", "integrations"),
                ],
            },
            {
                "name": "Review",
                "estimated_duration": 10,
                "tasks": [
                    _task("checkin", "Two-week check-in", 1, ["account management"], "users"),
                    _task("handover", "Hand over to support", 2, ["support"], "checkin"),
                ],
            },
        ],
    },
    {
        "slug": "event-planning",
        "name": "Event planning",
        "description": "A conference or meetup: venue, speakers, promotion and the day itself.",
        "category": "Operations",
        "tags": ["event", "conference", "logistics"],
        "phases": [
            {
                "name": "Preparation",
                "estimated_duration": 10,
                "tasks": [
                    _task("venue", "Book the venue", 6, ["logistics"]),
                    _task("speakers", "Invite the speakers", 8, ["community"]),
                    _task("agenda", "Publish the agenda", 4, ["community"], "speakers"),
                ],
            },
            {
                "name": "Promotion",
                "estimated_duration": 15,
                "tasks": [
                    _task("tickets", "Open registrations", 3, ["web"], "venue", "agenda"),
                    _task("promote", "Promote the event", 12, ["marketing"], "tickets"),
                ],
            },
            {
                "name": "Event day",
                "estimated_duration": 1,
                "tasks": [
                    _task("run", "Run the event", 10, ["logistics"], "promote"),
                ],
            },
            {
                "name": "Wrap-up",
                "estimated_duration": 3,
                "tasks": [
                    _task("survey", "Send the feedback survey", 2, ["community"], "run"),
                    _task("recap", "Publish the recordings and a recap", 6, ["writing"], "run"),
                ],
            },
        ],
    },
    {
        "slug": "website-redesign",
        "name": "Website redesign",
        "description": "Research, design, build and launch a new website.",
        "category": "Design",
        "tags": ["website", "design", "web"],
        "phases": [
            {
                "name": "Discovery",
                "estimated_duration": 5,
                "tasks": [
                    _task("audit", "Audit the current site and analytics", 8, ["research"]),
                    _task("interviews", "Interview users and stakeholders", 10, ["research"]),
                    _task("sitemap", "Draft the sitemap", 4, ["ux"], "audit", "interviews"),
                ],
            },
            {
                "name": "Design",
                "estimated_duration": 10,
                "tasks": [
                    _task("wireframes", "Wireframes", 16, ["ux"], "sitemap"),
                    _task("mockups", "Visual design mock-ups", 24, ["design"], "wireframes"),
                ],
            },
            {
                "name": "Build",
                "estimated_duration": 15,
                "tasks": [
                    _task("frontend", "Build the templates", 40, ["frontend"], "mockups"),
                    _task("content", "Migrate the content", 20, ["content"], "sitemap"),
                ],
            },
            {
                "name": "Launch",
                "estimated_duration": 3,
                "tasks": [
                    _task(
                        "test",
                        "Cross-browser and accessibility testing",
                        10,
                        ["qa"],
                        "frontend",
                        "content",
                    ),
                    _task("redirects", "Set up redirects", 3, ["web"], "content"),
                    _task("golive", "Go live", 2, ["operations"], "test", "redirects"),
                ],
            },
        ],
    },
]
