"""What the demo prints: a header per step, what it did, the figures that matter, where to look
in ``/docs``, and a summary at the end. Colour comes from ``rich`` (off with ``--no-color``,
``NO_COLOR`` or when the output is not a terminal)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from rich.console import Console
from rich.markup import escape

STATUS_STYLE = {
    "done": "bold green",
    "partial": "bold yellow",
    "skipped": "bold yellow",
    "failed": "bold red",
}


def cny(amount: object) -> str:
    """``"5000000.00"`` as ``CNY 5,000,000.00``."""
    try:
        return f"CNY {Decimal(str(amount)):,.2f}"
    except ArithmeticError:
        return f"CNY {amount}"


def count(n: object, noun: str, plural: str | None = None) -> str:
    return f"{n} {noun if n == 1 else plural or noun + 's'}"


@dataclass
class Outcome:
    name: str
    title: str
    status: str  # done, skipped, failed, not run
    note: str = ""
    docs: str = ""


class Out:
    def __init__(self, *, color: bool) -> None:
        self.console = Console(
            no_color=not color, highlight=False, soft_wrap=True, emoji=False, markup=True
        )

    def banner(self, title: str, subtitle: str) -> None:
        self.console.print()
        self.console.print(f"[bold magenta]{escape(title)}[/]")
        self.console.print(f"[dim]{escape(subtitle)}[/]")

    def step(self, number: int, total: int, title: str) -> None:
        self.console.print()
        self.console.rule(f"[bold cyan]{number}/{total}  {escape(title)}[/]", align="left")

    def did(self, text: str) -> None:
        self.console.print(f"  [green]✓[/] {escape(text)}")

    def fact(self, label: str, value: object, *, strong: bool = False) -> None:
        shown = escape(str(value))
        self.console.print(
            f"    [dim]{escape(label)}:[/] " + (f"[bold]{shown}[/]" if strong else shown)
        )

    def note(self, text: str) -> None:
        self.console.print(f"  [yellow]![/] [yellow]{escape(text)}[/]")

    def info(self, text: str) -> None:
        self.console.print(f"    [italic]{escape(text)}[/]")

    def error(self, text: str) -> None:
        self.console.print(f"  [bold red]✗ {escape(text)}[/]")

    def docs(self, links: list[str]) -> None:
        for link in dict.fromkeys(links):
            self.console.print(f"  [blue]→ see[/] [link={link}]{escape(link)}[/link]")

    def summary(self, outcomes: list[Outcome]) -> None:
        """One line a step: number, name, status, and where to look (or why it was skipped)."""
        self.console.print()
        self.console.rule("[bold magenta]Summary[/]", align="left")
        for number, outcome in enumerate(outcomes, start=1):
            style = STATUS_STYLE.get(outcome.status, "dim")
            status = f"[{style}]{outcome.status:<8}[/]"
            where = outcome.note or outcome.docs
            self.console.print(
                f" {number:>2}  {escape(outcome.name):<13} {status} {escape(outcome.title)}"
                + (f"  [dim]{escape(where)}[/]" if where else "")
            )
