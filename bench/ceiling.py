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
