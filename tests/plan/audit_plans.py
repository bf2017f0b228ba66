"""A small sif-2013 plan whose `audit:` section times the case audit's stages, for the audit
tests (a council's PLANS_DIR file replaces the shipped plan, so the times below are ours).

With the Tuesday 10 June 2025 call, week 2 is Monday 16 to Friday 20 June 2025 (BST): audited
due Wednesday 18 June 17:00, re-audited Friday 20 June 12:00, findings Friday 20 June 17:00."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

AUDIT_PLAN = {
    "framework": "sif-2013",
    "name": "Audit timing",
    "roles": [
        {"key": "steering_group_lead", "label": "Steering-group lead"},
        {"key": "audit_lead", "label": "Audit lead"},
    ],
    "tasks": [
        {
            "key": "audit_first_tier",
            "title": "First-tier audit of the named cases",
            "category": "audit",
            "owner_role": "audit_lead",
            "due": "week2.start + 2 working days 17:00",
        },
        {
            "key": "audit_re_audit",
            "title": "Senior managers re-audit",
            "category": "audit",
            "owner_role": "audit_lead",
            "due": "week2.end 12:00",
        },
        {
            "key": "audit_findings_report",
            "title": "Findings report to the inspection team",
            "category": "audit",
            "owner_role": "audit_lead",
            "due": "week2.end 17:00",
        },
    ],
    "audit": {
        "audited": "audit_first_tier",
        "re_audited": "audit_re_audit",
        "findings_reported": "audit_findings_report",
    },
}


def write_plan(folder: Path, plan: dict[str, Any]) -> Path:
    """The plan as `<framework>.yaml` in `folder` (a PLANS_DIR); returns the folder."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{plan['framework']}.yaml").write_text(yaml.safe_dump(plan), encoding="utf-8")
    return folder
