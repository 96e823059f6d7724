"""Errors on console pages as pages in Chinese (the API keeps its JSON answers)."""
from __future__ import annotations

from fastapi import Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import RedirectResponse
from starlette.exceptions import HTTPException

from console.templating import render


async def console_http_errors(request: Request, exc: HTTPException):
    if not request.url.path.startswith("/console"):
        return await http_exception_handler(request, exc)
    if exc.status_code == 303:  # not signed in: to the sign-in page
        return RedirectResponse(exc.headers["Location"], status_code=303, headers=exc.headers)
    titles = {403: "无权操作", 404: "页面不存在"}
    return render(request, "error.html", {"title": titles.get(exc.status_code, "出错了"), "detail": exc.detail},
                  status_code=exc.status_code)
