"""Imports flow one way: the web layer and the worker call the domains, never the reverse."""
import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
WEB = {"webhooks", "console", "server", "worker", "cli", "ops"}
DOMAINS = ["bot", "core", "policies", "push", "staff", "subscriptions", "surveys", "wechat"]


def imported_roots(path: Path) -> set[str]:
    roots = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            roots |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


def test_domains_do_not_import_the_web_layer_or_worker():
    offenders = []
    for domain in DOMAINS:
        for path in (ROOT / domain).rglob("*.py"):
            bad = imported_roots(path) & WEB
            if bad:
                offenders.append(f"{path.relative_to(ROOT)} imports {sorted(bad)}")
    assert offenders == []


def test_web_modules_are_not_imported_by_the_worker():
    assert not imported_roots(ROOT / "worker.py") & {"webhooks", "server", "ops"}
