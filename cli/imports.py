"""`policypush import ...`: load data from files, one sub-command a kind of data."""
from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cli import files

app = typer.Typer(help="Import data from files.", no_args_is_help=True)


# --- enterprises (subscriptions) -----------------------------------------------------------------

@app.command("enterprises")
def enterprises(
        file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True,
                                             help=".xlsx or .csv with the columns 统一社会信用代码, 企业名称, "
                                                  "行业代码, 园区, 规模, 标签, 联系人, 联系电话")],
        max_errors: Annotated[int, typer.Option(help="bad rows to list (all are counted)")] = 200,
) -> None:
    """Upsert enterprises by credit code; report every bad row. Exit 1 if any row failed (good rows
    are stored all the same), 2 if the file cannot be read (nothing is stored)."""
    from core import tabular
    from subscriptions import importer

    raise typer.Exit(files.import_file(
        file, lambda session, path, progress: importer.import_enterprises(
            session=session, path_or_file=path, progress=progress),
        action="enterprise.import", unreadable=(tabular.FileError,), all_or_nothing=False,
        max_errors=max_errors))


# --- policies and FAQ (policies) -------------------------------------------------------------------

def _library_file_errors() -> tuple[type[Exception], ...]:
    from core import tabular
    from policies import service

    return tabular.FileError, service.PolicyError


@app.command("policies")
def policies(
        file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True,
                                             help=".xlsx with the columns 标题, 文号, 发文机关, 发布日期, 施行日期, "
                                                  "失效日期, 状态, 修订后文号, 主题, 行业, 园区, 企业标签, 来源, 正文 "
                                                  "and the interpretation's parts; or a JSON list")],
        max_errors: Annotated[int, typer.Option(help="bad rows to list (all are counted)")] = 200,
) -> None:
    """Upsert policies and their interpretations by 文号. Exit 1 if any row is bad, 2 if the file cannot
    be used; in both cases nothing is stored."""
    from policies import policy_import

    raise typer.Exit(files.import_file(
        file, lambda session, path, progress: policy_import.import_policies(
            session=session, path=path, progress=progress),
        action="policy.import", unreadable=_library_file_errors(), all_or_nothing=True, max_errors=max_errors))


@app.command("faq")
def faq(
        file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True,
                                             help=".xlsx or .csv with 问题, 答案 and any of 编号, 类目, 相似问法, "
                                                  "关键词, 发文单位, 来源, 相关政策")],
        max_errors: Annotated[int, typer.Option(help="bad rows to list (all are counted)")] = 200,
) -> None:
    """Upsert FAQ entries by 编号, or else by 问题; unknown columns are named and ignored. Exit 1 if any
    row is bad, 2 if the file cannot be used; in both cases nothing is stored."""
    from policies import faq_import

    raise typer.Exit(files.import_file(
        file, lambda session, path, progress: faq_import.import_faq(session=session, path=path, progress=progress),
        action="faq.import", unreadable=_library_file_errors(), all_or_nothing=True, max_errors=max_errors))
