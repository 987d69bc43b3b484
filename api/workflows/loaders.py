"""Per-request DataLoaders for workflows (built in api/context.py; never module-level)."""
from __future__ import annotations

import uuid
from dataclasses import dataclass

from strawberry.dataloader import DataLoader

from application.queries.workflows import (
    WorkflowDefinitionView,
    WorkflowInstanceView,
    WorkflowQueries,
    WorkflowStepView,
)


def _loader(fetch):  # type: ignore[no-untyped-def]
    async def load(keys):  # type: ignore[no-untyped-def]
        return await fetch(list(keys))

    return DataLoader(load_fn=load)


@dataclass
class WorkflowLoaders:
    definition_by_id: DataLoader[uuid.UUID, WorkflowDefinitionView | None]
    instance_by_id: DataLoader[uuid.UUID, WorkflowInstanceView | None]
    steps_by_instance: DataLoader[uuid.UUID, list[WorkflowStepView]]
    instances_by_subject: DataLoader[uuid.UUID, list[WorkflowInstanceView]]

    @classmethod
    def build(cls, workflows: WorkflowQueries) -> "WorkflowLoaders":
        return cls(
            definition_by_id=_loader(workflows.definitions_by_ids),
            instance_by_id=_loader(workflows.instances_by_ids),
            steps_by_instance=_loader(workflows.steps),
            instances_by_subject=_loader(workflows.instances_by_subject),
        )
