"""Database pieces the portable ORM lacks: a continuous percentile aggregate.

PostgreSQL has ``percentile_cont ... WITHIN GROUP``; SQLite (the embedded default) gets an
aggregate of the same meaning registered on each new connection.
"""

from __future__ import annotations

from django.db.backends.signals import connection_created
from django.db.models import Aggregate, FloatField, Func, Value

from analytics.stats import percentile


class Percentile(Aggregate):
    function = "ANALYTICS_PERCENTILE"
    name = "Percentile"
    output_field = FloatField()

    def __init__(self, expression, fraction: float, **extra) -> None:
        super().__init__(expression, Value(float(fraction)), **extra)

    def as_postgresql(self, compiler, connection, **extra_context):
        expression, fraction = Func.get_source_expressions(self)[:2]
        expr_sql, expr_params = compiler.compile(expression)
        fraction_sql, fraction_params = compiler.compile(fraction)
        sql = f"percentile_cont({fraction_sql}) WITHIN GROUP (ORDER BY {expr_sql})"
        if self.filter is not None:
            filter_sql, filter_params = compiler.compile(self.filter)
            sql += f" FILTER (WHERE {filter_sql})"
            return sql, (*fraction_params, *expr_params, *filter_params)
        return sql, (*fraction_params, *expr_params)


class _SqlitePercentile:
    def __init__(self) -> None:
        self.values: list[float] = []
        self.fraction = 0.5

    def step(self, value, fraction) -> None:
        if value is not None:
            self.values.append(float(value))
        self.fraction = float(fraction)

    def finalize(self):
        return percentile(self.values, self.fraction)


def register_sqlite_functions(sender, connection, **kwargs) -> None:
    if connection.vendor == "sqlite":
        connection.connection.create_aggregate("ANALYTICS_PERCENTILE", 2, _SqlitePercentile)


def connect_signals() -> None:
    connection_created.connect(register_sqlite_functions, dispatch_uid="analytics_sqlite_functions")
