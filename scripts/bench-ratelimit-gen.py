import json, random, sys, os
random.seed(7)
out = sys.argv[1]
meta_path = {"fullFilePath":"file:///usr/lib/node_modules/openclaw/dist/subsystem-Bx9.mjs:212:17","fileName":"subsystem-Bx9.mjs","fileLine":"212","method":"logToFile"}
def line(t, level, sub, msg, extra=None):
    d = {"0": json.dumps({"subsystem": sub}), "1": msg}
    if extra is not None:
        d = {"0": json.dumps({"subsystem": sub}), "1": extra, "2": msg}
    d["_meta"] = {"runtime":"node","runtimeVersion":"24.21.0","hostname":"gw","date":t,"logLevelId":3,"logLevelName":level,"name":json.dumps({"subsystem":sub}),"path":meta_path}
    d["time"] = t.replace("Z", "+00:00"); d["hostname"]="gw"
    return json.dumps(d, separators=(",",":")) + "\n"
files = [f"openclaw-2026-11-{d:02d}{p}.log" for d in (19, 20) for p in ("", ".1", ".2", ".3", ".4")]
per = 100 * 1024 * 1024
n429 = 0
sec = 0
for name in files:
    with open(os.path.join(out, name), "w") as f:
        size = 0
        buf = []
        while size < per:
            sec += 1
            t = f"2026-11-20T{(sec//3600)%24:02d}:{(sec//60)%60:02d}:{sec%60:02d}.{sec%1000:03d}Z"
            r = random.random()
            if r < 0.001:
                l = line(t, "INFO", "provider-transport-fetch", f"[model-fetch] response provider=anthropic api=anthropic-messages model=claude-sonnet-4-5 status=429 elapsedMs={random.randint(50,900)}")
                n429 += 1
            elif r < 0.2:
                l = line(t, "INFO", "provider-transport-fetch", f"[model-fetch] response provider=anthropic api=anthropic-messages model=claude-sonnet-4-5 status=200 elapsedMs={random.randint(50,9000)} dispatcher=reused contentType=text/event-stream")
            elif r < 0.6:
                l = line(t, "DEBUG", "agent/embedded", f"tool call done name=exec durationMs={random.randint(1,99999)} session=agent:main:main")
            else:
                l = line(t, "INFO", "gateway/ws", f"ws frame conn={random.getrandbits(32):08x} method=chat.send bytes={random.randint(10,99999)}")
            buf.append(l); size += len(l)
            if len(buf) > 5000:
                f.write("".join(buf)); buf = []
        f.write("".join(buf))
print("429 lines:", n429)
