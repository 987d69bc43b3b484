"""How long refusing a large or over-budget document takes, and what the document caches save a normal request.

In-process, no database: refused documents never reach a resolver, and parsing and validation need none.

    .venv/bin/python bench/large_documents.py [--runs 20]

Prints, per document, the median and worst time of the served schema's `execute` (the refusal: parse, count,
refuse), for a new text each time and for a repeated one, beside what graphql-core's validation of the same
document alone takes (the work the field limit spares); then, for ordinary documents, parse + validate
uncached (what every request paid before the caches) against the cached look-ups (api/common/documents.py),
and the per-request checks that are not cached (field count, cost estimate). `--no-gc` switches the garbage
collector off, to tell its pauses (and a busy machine's) from the work itself.
"""
from __future__ import annotations

import argparse
import asyncio
import gc
import statistics
import sys
import time
from pathlib import Path
from typing import Any, Callable

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from graphql import get_introspection_query, parse, specified_rules  # noqa: E402
from strawberry.extensions import MaxAliasesLimiter, QueryDepthLimiter  # noqa: E402
from strawberry.extensions.validation_cache import _get_validate_cache  # noqa: E402
from strawberry.schema.schema import validate_document  # noqa: E402

from api.common.cost import count_fields, estimate_cost  # noqa: E402
from api.common.documents import parsed_documents  # noqa: E402
from api.schema import CACHED_DOCUMENTS, build_schema  # noqa: E402

OVER_BUDGET = """{ customers(first: 100) { edges { node { code
  activity(first: 100) { edges { node { summary subject { ... on Interaction { customer {
    activity(first: 100) { edges { node { summary } } } } } } } } } } } } }"""

LARGE = {
    "1,240 x `id`": "{ me { " + "id " * 1240 + "} }",
    "1,240 aliased `id`": "{ me { " + " ".join(f"a{i}: id" for i in range(1240)) + " } }",
    "620 x `department { name }`": "{ me { " + "department { name } " * 620 + "} }",
    "413 x `m: me { id email }`": "{ " + "m: me { id email } " * 413 + "}",
}

ORDINARY = {
    "query A (customers + complaints)": """{ customers(first: 50) { edges { node { id code name tier
      complaints(first: 10) { edges { node { number status } } } } } } }""",
    "query B (customer + contacts)": """query($id: ID) { customer(id: $id) { id code name
      contacts { name email phone role } } }""",
    "GraphiQL introspection": get_introspection_query(descriptions=True, specified_by_url=True,
                                                      directive_is_repeatable=True, schema_description=True,
                                                      input_value_deprecation=True),
}


def timed(run: Callable[[], Any], runs: int) -> dict[str, float]:
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        run()
        samples.append(time.perf_counter() - started)
    return {"p50_ms": statistics.median(samples) * 1000, "max_ms": max(samples) * 1000}


def row(name: str, *figures: str) -> None:
    print(f"  {name:36s}" + "".join(f"{f:>22s}" for f in figures))


def ms(figure: dict[str, float]) -> str:
    return f"{figure['p50_ms']:.3f} (max {figure['max_ms']:.2f})"


async def main(runs: int) -> None:
    schema = build_schema(federation=True)
    graphql_schema = schema._schema
    rules = (*specified_rules, *QueryDepthLimiter(max_depth=12).validation_rules,
             *MaxAliasesLimiter(max_alias_count=30).validation_rules)

    async def refuse(query: str, fresh: bool) -> dict[str, float]:
        """`fresh`: a new text each time (a comment differs), as an attacker would send, so nothing is cached."""
        samples = []
        for run in range(runs):
            text = f"{query}\n# {run} {time.perf_counter_ns()}" if fresh else query
            started = time.perf_counter()
            result = await schema.execute(text)
            samples.append(time.perf_counter() - started)
            assert result.errors and result.errors[0].extensions and \
                result.errors[0].extensions["code"] == "LIMIT_EXCEEDED", result.errors
        return {"p50_ms": statistics.median(samples) * 1000, "max_ms": max(samples) * 1000}

    print(f"Refusals (served schema, `execute`, {runs} runs; ms p50 (max)):")
    row("document", "fields", "refused, new text", "refused, same text", "validation alone")
    for name, query in LARGE.items():
        document = parse(query)
        alone = timed(lambda: validate_document(graphql_schema, document, rules), max(3, runs // 5))
        row(name, f"{count_fields(document):,}", ms(await refuse(query, True)), ms(await refuse(query, False)),
            ms(alone))
    document = parse(OVER_BUDGET)
    alone = timed(lambda: validate_document(graphql_schema, document, rules), runs)
    row(f"over budget (cost {estimate_cost(graphql_schema, document):,})", f"{count_fields(document):,}",
        ms(await refuse(OVER_BUDGET, True)), ms(await refuse(OVER_BUDGET, False)), ms(alone))
    print("  (validation alone: graphql-core with the served rules, what every one of these paid before the limit)")

    print(f"\nOrdinary documents, parse + validate per request ({runs * 10} runs; ms p50 (max)):")
    row("document", "uncached", "cached", "field count + cost")
    parse_cached, validate_cached = parsed_documents(CACHED_DOCUMENTS), _get_validate_cache(CACHED_DOCUMENTS)
    for name, query in ORDINARY.items():
        uncached = timed(lambda: validate_document(graphql_schema, parse(query, max_tokens=5000), rules), runs * 10)

        def cached() -> None:
            validate_cached(graphql_schema, parse_cached(query, max_tokens=5000), rules)

        cached()  # the first request fills the caches
        checks_document = parse(query)
        checks = timed(lambda: (count_fields(checks_document), estimate_cost(graphql_schema, checks_document)),
                       runs * 10)
        row(name, ms(uncached), ms(timed(cached, runs * 10)), ms(checks))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--no-gc", action="store_true")
    args = parser.parse_args()
    if args.no_gc:
        gc.disable()
    asyncio.run(main(args.runs))
