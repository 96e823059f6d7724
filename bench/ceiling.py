"""The ceiling for bench/webhook.py: a bare FastAPI endpoint returning a fixed reply."""
from fastapi import FastAPI, Request, Response

app = FastAPI()
REPLY = ("<xml><ToUserName><![CDATA[oBench]]></ToUserName><FromUserName><![CDATA[gh_bench]]></FromUserName>"
         "<CreateTime>0</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[ok]]></Content></xml>")


@app.post("/wechat")
async def wechat(request: Request) -> Response:
    await request.body()
    return Response(REPLY, media_type="application/xml")


@app.get("/healthz")
async def healthz() -> dict:
    return {"status": "ok"}


@app.post("/s/{token}")
async def survey_page(token: str, request: Request) -> Response:
    """bench/surveys.py's ceiling: read a form page, answer as the survey form does (303 to the next page)."""
    await request.form()
    return Response(status_code=303, headers={"Location": f"/s/{token}"})
