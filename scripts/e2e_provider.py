#!/usr/bin/env python3
"""Fake model provider for claw's end-to-end suite (scripts/e2e.sh). Loopback only.

Speaks OpenAI chat-completions (POST .../chat/completions) and Anthropic messages
(POST .../v1/messages), streamed as SSE when asked, with usage that carries cache tokens.
What it answers depends on the LAST user message of the request (so history that mentions a
trigger does not re-fire it):

  E2E_SPAWN   a tool call to OpenClaw's `sessions_spawn` whose task says E2E_HANG, so the
              subagent hangs; after the tool result, a short text reply
  E2E_HANG    never answers (the connection stays open until the client gives up)
  E2E_429     HTTP 429 with Retry-After: 1
  E2E_529     HTTP 529 overloaded
  E2E_LONG    a 3 KiB text reply (stored zstd-compressed by 2026.9.x)
  E2E_STEER   (a steer message) answers even when the turn also says E2E_HANG
  otherwise   a short text reply

`POST /control {"mode": "429"|"ok"}` makes every request fail with 429 (a storm) or answer
normally again. Every request is appended to the JSONL log given by --log (one line:
time, path, last user text, whether the conversation mentions E2E_HANG), which the suite reads
to judge effects such as "the hung session received a new request".
"""
import argparse
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

STATE = {"mode": "ok", "lock": threading.Lock(), "n": 0}
USAGE = {"prompt": 1200, "cached": 200, "completion": 80}


def text_of(content):
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(
            c.get("text", "") if isinstance(c, dict) else str(c) for c in content
        )
    return ""


def last_turn(messages):
    """(role, text) of the current turn: everything after the last assistant message. OpenClaw
    sends the user's prompt and its own context as separate user messages, so they are joined;
    a turn holding a tool result is role 'tool'."""
    i = len(messages)
    while i > 0 and messages[i - 1].get("role") != "assistant":
        i -= 1
    turn = messages[i:]
    if not turn:
        return ("", "")
    role = "user"
    for m in turn:
        c = m.get("content")
        if m.get("role") == "tool" or (isinstance(c, list) and any(
            isinstance(x, dict) and x.get("type") == "tool_result" for x in c
        )):
            role = "tool"
    return (role, "\n".join(text_of(m.get("content")) for m in turn))


class H(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def send_json(self, code, obj, headers=None):
        body = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        if self.path.endswith("/models"):
            return self.send_json(200, {"data": [{"id": "m1", "object": "model"}]})
        self.send_json(200, {"ok": True, "mode": STATE["mode"]})

    def do_POST(self):
        n = int(self.headers.get("content-length") or 0)
        raw = self.rfile.read(n) if n else b"{}"
        try:
            req = json.loads(raw or b"{}")
        except ValueError:
            return self.send_json(400, {"error": "bad json"})
        if self.path == "/control":
            STATE["mode"] = req.get("mode", "ok")
            return self.send_json(200, {"mode": STATE["mode"]})
        anthropic = self.path.endswith("/messages")
        msgs = req.get("messages") or []
        role, last = last_turn(msgs)
        whole = json.dumps(msgs)
        with STATE["lock"]:
            STATE["n"] += 1
            rec = {
                "t": time.time(),
                "path": self.path,
                "role": role,
                "last": last[-400:],
                "hang_session": "E2E_HANG" in whole,
                "mode": STATE["mode"],
                "tools": sorted(
                    (t.get("function") or t).get("name", "?")
                    for t in req.get("tools") or []
                    if isinstance(t, dict)
                ),
            }
            with open(ARGS.log, "a") as f:
                f.write(json.dumps(rec) + "\n")
        if STATE["mode"] == "429" or (role == "user" and "E2E_429" in last):
            return self.error(429, anthropic, {"retry-after": "1"})
        if role == "user" and "E2E_529" in last:
            return self.error(529, anthropic)
        if role == "user" and "E2E_HANG" in last and "E2E_STEER" not in last:
            # Hang: hold the connection open without a byte until the client leaves.
            try:
                while True:
                    time.sleep(1)
                    if self.server.stopping:
                        return
            except Exception:
                return
        if role == "user" and "E2E_SPAWN" in last:
            return self.reply(req, anthropic, tool=True)
        return self.reply(req, anthropic, tool=False)

    def error(self, code, anthropic, headers=None):
        if anthropic:
            kind = "rate_limit_error" if code == 429 else "overloaded_error"
            body = {"type": "error", "error": {"type": kind, "message": f"fake {code}"}}
        else:
            body = {"error": {"message": f"fake {code}", "type": "rate_limit_exceeded" if code == 429 else "overloaded", "code": str(code)}}
        self.send_json(code, body, headers)

    def reply(self, req, anthropic, tool):
        stream = bool(req.get("stream"))
        text = "e2e reply: done."
        if "E2E_LONG" in last_turn(req.get("messages") or [])[1]:
            # Over 1 KiB: 2026.9.x stores such an event zstd-compressed.
            text = "e2e long reply. " * 200
        args = {"task": "E2E_HANG child task: wait for the model", "label": "e2e-hang"}
        p, c, k = USAGE["prompt"], USAGE["completion"], USAGE["cached"]
        if anthropic:
            usage = {"input_tokens": p - k, "output_tokens": c, "cache_read_input_tokens": k, "cache_creation_input_tokens": 0}
            if tool:
                content = [{"type": "tool_use", "id": "toolu_e2e1", "name": "sessions_spawn", "input": args}]
                stop = "tool_use"
            else:
                content = [{"type": "text", "text": text}]
                stop = "end_turn"
            msg = {"id": "msg_e2e", "type": "message", "role": "assistant", "model": req.get("model", "m1"),
                   "content": content, "stop_reason": stop, "usage": usage}
            if not stream:
                return self.send_json(200, msg)
            ev = []
            start = dict(msg, content=[], stop_reason=None, usage={"input_tokens": p - k, "output_tokens": 0, "cache_read_input_tokens": k, "cache_creation_input_tokens": 0})
            ev.append(("message_start", {"type": "message_start", "message": start}))
            if tool:
                ev.append(("content_block_start", {"type": "content_block_start", "index": 0, "content_block": {"type": "tool_use", "id": "toolu_e2e1", "name": "sessions_spawn", "input": {}}}))
                ev.append(("content_block_delta", {"type": "content_block_delta", "index": 0, "delta": {"type": "input_json_delta", "partial_json": json.dumps(args)}}))
            else:
                ev.append(("content_block_start", {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}}))
                ev.append(("content_block_delta", {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": text}}))
            ev.append(("content_block_stop", {"type": "content_block_stop", "index": 0}))
            ev.append(("message_delta", {"type": "message_delta", "delta": {"stop_reason": stop}, "usage": {"output_tokens": c}}))
            ev.append(("message_stop", {"type": "message_stop"}))
            return self.sse([f"event: {e}\ndata: {json.dumps(d)}\n\n" for e, d in ev])
        usage = {"prompt_tokens": p, "completion_tokens": c, "total_tokens": p + c,
                 "prompt_tokens_details": {"cached_tokens": k}}
        if tool:
            call = {"index": 0, "id": "call_e2e1", "type": "function",
                    "function": {"name": "sessions_spawn", "arguments": json.dumps(args)}}
            message = {"role": "assistant", "content": None, "tool_calls": [call]}
            finish = "tool_calls"
        else:
            message = {"role": "assistant", "content": text}
            finish = "stop"
        base = {"id": "chatcmpl-e2e", "object": "chat.completion", "created": int(time.time()), "model": req.get("model", "m1")}
        if not stream:
            return self.send_json(200, dict(base, choices=[{"index": 0, "message": message, "finish_reason": finish}], usage=usage))
        chunks = []
        delta = {"role": "assistant"}
        if tool:
            delta["tool_calls"] = [call]
        else:
            delta["content"] = text
        chunks.append(dict(base, object="chat.completion.chunk", choices=[{"index": 0, "delta": delta, "finish_reason": None}]))
        chunks.append(dict(base, object="chat.completion.chunk", choices=[{"index": 0, "delta": {}, "finish_reason": finish}]))
        chunks.append(dict(base, object="chat.completion.chunk", choices=[], usage=usage))
        return self.sse([f"data: {json.dumps(c)}\n\n" for c in chunks] + ["data: [DONE]\n\n"])

    def sse(self, frames):
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.send_header("cache-control", "no-cache")
        self.send_header("connection", "close")
        self.end_headers()
        for f in frames:
            self.wfile.write(f.encode())
            self.wfile.flush()
        self.close_connection = True


def main():
    global ARGS
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--log", required=True)
    ap.add_argument("--port-file", required=True)
    ARGS = ap.parse_args()
    srv = ThreadingHTTPServer(("127.0.0.1", ARGS.port), H)
    srv.daemon_threads = True
    srv.stopping = False
    with open(ARGS.port_file + ".tmp", "w") as f:
        f.write(str(srv.server_address[1]))
    import os
    os.rename(ARGS.port_file + ".tmp", ARGS.port_file)
    try:
        srv.serve_forever()
    finally:
        srv.stopping = True


if __name__ == "__main__":
    sys.exit(main())
