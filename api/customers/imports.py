"""importCustomers: a CSV or JSON file sent as a GraphQL multipart upload."""
from __future__ import annotations

from collections.abc import Iterator

import strawberry
from starlette.datastructures import UploadFile
from strawberry.types import Info

from api.common.errors import ErrorCode, UserError, attempt
from api.context import Context
from api.customers.inputs import ImportCustomersInput
from application.imports import ImportCustomers, ImportReport, import_customers
from domain.shared import InvalidInput
from infrastructure.importing import FileFormat, Row, read_rows

FILE_FIELD = ["input", "file"]


@strawberry.type
class ImportRowError:
    row: int = strawberry.field(description="1-based row (CSV: data row after the header) or array index + 1 (JSON)")
    field: str | None
    message: str


@strawberry.type(description="What the import wrote; with rowErrors (or dryRun) nothing was written, and the "
                              "counts are what the rows without errors would have given")
class ImportCustomersPayload:
    created: int
    updated: int
    unchanged: int
    row_errors: list[ImportRowError]
    dry_run: bool
    user_errors: list[UserError]

    @classmethod
    def build(cls, report: ImportReport | None, errors: list[UserError], dry_run: bool) -> "ImportCustomersPayload":
        if report is None:
            return cls(created=0, updated=0, unchanged=0, row_errors=[], dry_run=dry_run, user_errors=errors)
        if report.problem:
            errors = [*errors, UserError(field=FILE_FIELD, message=report.problem, code=ErrorCode.INVALID)]
        return cls(created=report.created, updated=report.updated, unchanged=report.unchanged,
                   row_errors=[ImportRowError(row=e.row, field=e.field, message=e.message) for e in report.row_errors],
                   dry_run=report.dry_run, user_errors=errors)


@strawberry.type
class ImportMutation:
    @strawberry.mutation(description="Create or update customers by code from a CSV or JSON file; all or nothing")
    async def import_customers(self, info: Info[Context, None], input: ImportCustomersInput) -> ImportCustomersPayload:
        ctx = info.context
        dry_run = bool(input.dry_run)
        upload = input.file

        async def run() -> ImportReport:
            rows = (read_rows(upload.file, FileFormat(input.format.value)) if isinstance(upload, UploadFile)
                    else _not_uploaded())
            cmd = ImportCustomers(rows=rows, dry_run=dry_run, batch_size=ctx.settings.import_batch_size)
            return await import_customers(ctx.uow(), ctx.clock, ctx.actor, cmd)

        report, errors = await attempt(run)
        return ImportCustomersPayload.build(report, errors, dry_run)


def _not_uploaded() -> Iterator[Row]:
    """Rows of a `file` that came as a plain variable; a generator, so that the use case
    refuses a MEMBER before this refuses the file."""
    raise InvalidInput("Send the file as a multipart upload.", field=("file",))
    yield  # pragma: no cover
