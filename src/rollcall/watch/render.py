"""`rollcall incidents` as a table. Outside text (names, errors) only ever as rich Text."""

from __future__ import annotations

from collections.abc import Sequence

from rich.table import Table
from rich.text import Text

from .alerts import describe_duration
from .incidents import Incident, parse_iso
from .state import State
from ..safetext import one_line

_STYLE = {State.DOWN: "bold red", State.DEGRADED: "bold yellow"}


def _when(stamp: str | None) -> str:
    return stamp[:16].replace("T", " ") if stamp else ""


def incidents_table(incidents: Sequence[Incident], *, now: str | None = None) -> Table:
    table = Table(title=f"Incidents ({sum(i.open for i in incidents)} open)", title_justify="left")
    for name, kwargs in (("id", {"style": "dim", "no_wrap": True}), ("target", {"no_wrap": True}),
                         ("site", {}), ("state", {}), ("opened (UTC)", {"no_wrap": True}),
                         ("for", {"no_wrap": True}), ("failed", {"justify": "right"}), ("first / last error", {})):
        table.add_column(name, **kwargs)
    for i in incidents:
        name = f"{i.target}/{i.model}" if i.model else i.target
        if i.open:
            from ..timing import utc_now_iso

            lasted = (parse_iso(now or utc_now_iso()) - parse_iso(i.opened_at)).total_seconds()
            status = Text(f"{i.state.upper()}", style=_STYLE.get(i.state, ""))
            span = Text(f"{describe_duration(lasted)}, open", style="bold")
        else:
            status = Text(f"{i.state} (resolved)", style="dim")
            span = Text(describe_duration(i.duration_s or 0.0))
        first = ": ".join(p for p in (i.first_error_kind or "", one_line(i.first_error, 60)) if p)
        last = ": ".join(p for p in (i.last_error_kind or "", one_line(i.last_error, 60)) if p)
        errors = first if first == last or not last else f"{first}\n{last}"
        table.add_row(Text(i.id), Text(one_line(name, 60)), Text(one_line(i.site, 24)), status,
                      _when(i.opened_at), span, f"{i.failed_rounds}/{i.rounds}", Text(errors))
    return table
