"""The generated differential corpus for scripts/compare_validate.py (stdlib only).

Mutations of valid base configs, made at run time with a fixed seed so every run compares the
same few hundred cases: the real samples in ../shared/samples/configs (read, never stored in
this repo), claw's own valid fixtures, and one richer base written here (channels with accounts,
plugin entries with their own config). Each family aims at a place where a validator can be
stricter or looser than OpenClaw:

  unknown    an unknown key in every kind of object: core sections, channel sections and their
             accounts, plugin entries and their `config`, model providers, array items;
  type       a leaf of the wrong type (string/number/boolean/array/object swapped);
  empty      null, "", {}, [] in place of a value;
  shape      an array where an object is expected and the other way round;
  enum       every option of an enum the base uses, and an unknown one, looked up in the schema
             OpenClaw printed (so the cases follow the version under test);
  include    `$include` valid, nested, in a subsection, as a list, missing, a cycle, itself,
             not an object, bad syntax, escaping the config dir;
  env        `${VAR}` set, unset, escaped, lowercase, from `.env` and from `env.vars`, in a
             number field;
  secret     secret refs (`{source, provider, id}`) valid and malformed in place of secrets.

A case is a dict of files (relative path -> text) put into an empty OpenClaw state dir, plus
extra environment variables.
"""

import copy
import json
import random

SEED = 14
UNKNOWN = "zzNotAKey"

# Environment every generated case gets (the fixtures' CASE_ENV is added by the caller).
GEN_ENV = {"CORPUS_TOKEN": "corpus-token-value", "CORPUS_PORT": "18790", "CORPUS_BIND": "lan"}

# A richer base than the samples: channels with accounts and plugin entries with their own
# config, so that unknown keys and wrong types reach the channel and plugin phases.
RICH = {
    "gateway": {"mode": "local", "port": 18789, "bind": "loopback",
                "auth": {"mode": "token", "token": "rich-gateway-token"}},
    "agents": {"defaults": {"model": {"primary": "openai/gpt-5", "fallbacks": []},
                            "maxConcurrent": 2},
               "entries": {"main": {"name": "Main"}}},
    "models": {"providers": {"custom": {"baseUrl": "http://127.0.0.1:9/v1",
                                        "api": "openai-completions", "apiKey": "sk-rich",
                                        "models": [{"id": "m1", "name": "M1"}]}}},
    "channels": {
        "telegram": {"enabled": True, "botToken": "123:rich", "dmPolicy": "pairing",
                     "groupPolicy": "allowlist", "streaming": "partial",
                     "accounts": {"work": {"botToken": "456:rich", "enabled": True}}},
        "discord": {"enabled": True, "token": "discord-rich", "groupPolicy": "open"},
        "slack": {"enabled": True, "mode": "socket", "botToken": "xoxb-rich",
                  "appToken": "xapp-rich"},
    },
    "plugins": {"enabled": True, "allow": ["imap", "openai"],
                "entries": {"openai": {"enabled": True},
                            "imap": {"enabled": True, "config": {"accounts": {"a": {
                                "agentId": "main", "host": "imap.example.com",
                                "user": "u", "password": "p"}}}}}},
    "session": {"dmScope": "main"},
}


def walk(v, path=()):
    """Every (path, value) in a document, parents before children."""
    yield path, v
    if isinstance(v, dict):
        for k in v:
            yield from walk(v[k], path + (k,))
    elif isinstance(v, list):
        for i, c in enumerate(v):
            yield from walk(c, path + (i,))


def get(doc, path):
    for k in path:
        doc = doc[k]
    return doc


def put(doc, path, value):
    node = doc
    for k in path[:-1]:
        node = node[k]
    node[path[-1]] = value


def dotted(path):
    return ".".join(str(p) for p in path) or "<root>"


class SchemaIndex:
    """Just enough of a JSON Schema walker to find the schema of a config path."""

    def __init__(self, doc):
        self.doc = doc or {}

    def resolve(self, s, depth=0):
        while isinstance(s, dict) and "$ref" in s and depth < 20:
            ref = s["$ref"]
            if not ref.startswith("#"):
                return {}
            node = self.doc
            for part in ref[1:].split("/")[1:]:
                part = part.replace("~1", "/").replace("~0", "~")
                node = node.get(part, {}) if isinstance(node, dict) else {}
            s, depth = node, depth + 1
        return s if isinstance(s, dict) else {}

    def branches(self, s):
        s = self.resolve(s)
        out = [s]
        for kw in ("anyOf", "oneOf", "allOf"):
            for b in s.get(kw, []) or []:
                out.extend(self.branches(b))
        return out

    def child(self, s, key):
        for b in self.branches(s):
            if isinstance(key, int):
                if isinstance(b.get("items"), dict):
                    return b["items"]
                continue
            props = b.get("properties") or {}
            if key in props:
                return props[key]
            if isinstance(b.get("additionalProperties"), dict):
                return b["additionalProperties"]
        return None

    def at(self, path):
        s = self.doc
        for k in path:
            s = self.child(s, k)
            if s is None:
                return None
        return s

    def enum(self, path):
        s = self.at(path)
        if s is None:
            return []
        vals = []
        for b in self.branches(s):
            for v in b.get("enum", []) or []:
                if isinstance(v, str) and v not in vals:
                    vals.append(v)
            if isinstance(b.get("const"), str) and b["const"] not in vals:
                vals.append(b["const"])
        return vals

    def enum_leaves(self, max_depth=3):
        """Paths of string enums reachable through plain `properties`, shallow first."""
        out = []

        def go(s, path):
            if len(path) > max_depth:
                return
            for b in self.branches(s):
                for k, c in sorted((b.get("properties") or {}).items()):
                    p = path + (k,)
                    if self.enum(p):
                        out.append(p)
                    else:
                        go(c, p)
        go(self.doc, ())
        seen, uniq = set(), []
        for p in out:
            if p not in seen:
                seen.add(p)
                uniq.append(p)
        return uniq


def wrong_types(v):
    """Values of another JSON type than v."""
    if isinstance(v, bool):
        return ["true", 1]
    if isinstance(v, (int, float)):
        return [str(v), True]
    if isinstance(v, str):
        return [42, False, [v]]
    if isinstance(v, list):
        return ["x", 0]
    if isinstance(v, dict):
        return ["x", True]
    return ["x"]


class Gen:
    def __init__(self, bases, schema):
        """bases: [(name, doc)] of configs OpenClaw accepts; schema: the JSON Schema or None."""
        self.bases = bases
        self.schema = SchemaIndex(schema)
        self.rng = random.Random(SEED)
        self.cases = []
        self.names = set()

    def add(self, name, doc=None, files=None, env=None, raw=None):
        files = dict(files or {})
        if raw is not None:
            files["openclaw.json"] = raw
        elif doc is not None:
            files["openclaw.json"] = json.dumps(doc, indent=2)
        name = "gen:" + name
        n, i = name, 2
        while n in self.names:
            n, i = "%s#%d" % (name, i), i + 1
        self.names.add(n)
        self.cases.append((n, files, dict(GEN_ENV, **(env or {}))))

    def pick(self, items, n, must=lambda p: False):
        """Up to n items: those `must` keeps first, then a seeded sample of the rest."""
        first = [x for x in items if must(x)]
        rest = [x for x in items if not must(x)]
        self.rng.shuffle(rest)
        return (first + rest)[:n]

    def run(self):
        for bname, base in self.bases:
            self.unknown(bname, base)
            self.types(bname, base)
            self.empty(bname, base)
            self.shape(bname, base)
            self.enums(bname, base)
            self.secrets(bname, base)
        self.enum_sweep()
        self.includes()
        self.env()
        return self.cases

    # -- families ---------------------------------------------------------------------------

    def unknown(self, bname, base):
        objs = [p for p, v in walk(base) if isinstance(v, dict)]
        deep = [p for p in objs if p and p[0] in ("channels", "plugins")]
        core = [p for p in objs if p not in deep]
        for p in self.pick(deep, 8) + self.pick(core, 6):
            d = copy.deepcopy(base)
            get(d, p)[UNKNOWN] = True
            self.add("%s~unknown@%s" % (bname, dotted(p)), d)

    def types(self, bname, base):
        leaves = [(p, v) for p, v in walk(base) if p and not isinstance(v, (dict, list))]
        conts = [(p, v) for p, v in walk(base) if p and isinstance(v, (dict, list))]
        chosen = self.pick(leaves, 9, lambda pv: pv[0][0] in ("channels", "plugins")) \
            + self.pick(conts, 3)
        for p, v in chosen:
            w = self.rng.choice(wrong_types(v))
            d = copy.deepcopy(base)
            put(d, p, w)
            self.add("%s~type@%s=%s" % (bname, dotted(p), type(w).__name__), d)

    def empty(self, bname, base):
        nodes = [(p, v) for p, v in walk(base) if p]
        for p, v in self.pick(nodes, 7):
            if isinstance(v, dict):
                opts = [{}, None]
            elif isinstance(v, list):
                opts = [[], None]
            elif isinstance(v, str):
                opts = ["", None]
            else:
                opts = [None]
            e = self.rng.choice(opts)
            d = copy.deepcopy(base)
            put(d, p, e)
            self.add("%s~empty@%s=%s" % (bname, dotted(p), json.dumps(e)), d)

    def shape(self, bname, base):
        arrays = [(p, v) for p, v in walk(base) if p and isinstance(v, list)]
        objs = [(p, v) for p, v in walk(base) if p and isinstance(v, dict)]
        for p, v in self.pick(arrays, 2):
            d = copy.deepcopy(base)
            put(d, p, {str(i): x for i, x in enumerate(v)})
            self.add("%s~shape@%s=object" % (bname, dotted(p)), d)
        for p, v in self.pick(objs, 2):
            d = copy.deepcopy(base)
            put(d, p, [v])
            self.add("%s~shape@%s=array" % (bname, dotted(p)), d)

    def enums(self, bname, base):
        used = [(p, v) for p, v in walk(base)
                if p and isinstance(v, str) and v in self.schema.enum(p)]
        for p, v in self.pick(used, 5):
            opts = self.schema.enum(p)
            for o in [o for o in opts if o != v][:2] + ["notAnOption"]:
                d = copy.deepcopy(base)
                put(d, p, o)
                self.add("%s~enum@%s=%s" % (bname, dotted(p), o), d)

    def enum_sweep(self):
        """Enums the bases do not use, each set on an otherwise empty config."""
        leaves = self.schema.enum_leaves()
        chan = [p for p in leaves if p[0] == "channels"]
        core = [p for p in leaves if p[0] != "channels"]
        for p in self.pick(chan, 10) + self.pick(core, 14, lambda p: p[0] == "gateway"):
            opts = self.schema.enum(p)
            for o in [self.rng.choice(opts), "notAnOption"]:
                d = {}
                node = d
                for k in p[:-1]:
                    node = node.setdefault(k, {})
                node[p[-1]] = o
                self.add("empty~enum@%s=%s" % (dotted(p), o), d)

    def secrets(self, bname, base):
        keys = ("apiKey", "token", "botToken", "password", "appToken")
        spots = [p for p, v in walk(base) if p and p[-1] in keys and isinstance(v, str)]
        for p in self.pick(spots, 2):
            refs = [
                ("env", {"source": "env", "provider": "default", "id": "CORPUS_TOKEN"}),
                ("file", {"source": "file", "provider": "default", "id": "/token"}),
                ("bad-source", {"source": "carrier-pigeon", "provider": "default", "id": "X"}),
                ("no-id", {"source": "env", "provider": "default"}),
                ("extra-key", {"source": "env", "provider": "default", "id": "X", UNKNOWN: 1}),
            ]
            for label, ref in refs:
                d = copy.deepcopy(base)
                put(d, p, ref)
                self.add("%s~secret@%s=%s" % (bname, dotted(p), label), d)

    def includes(self):
        gw = {"gateway": {"mode": "local", "port": 18789}}
        ch = {"telegram": {"enabled": True, "dmPolicy": "pairing"}}
        j = lambda v: json.dumps(v, indent=2)  # noqa: E731
        self.add("include~top-ok", files={
            "openclaw.json": j({"$include": "gw.json5", "agents": {"defaults": {}}}),
            "gw.json5": "// the gateway\n{gateway: {mode: 'local', port: 18789,},}"})
        self.add("include~section-ok", files={
            "openclaw.json": j({"channels": {"$include": "channels.json"}}),
            "channels.json": j(ch)})
        self.add("include~section-unknown-key", files={
            "openclaw.json": j({"channels": {"$include": "channels.json"}}),
            "channels.json": j({"telegram": {"enabled": True, UNKNOWN: 1}})})
        self.add("include~section-bad-enum", files={
            "openclaw.json": j({"gateway": {"$include": "gw.json"}}),
            "gw.json": j({"bind": "everywhere"})})
        self.add("include~list-ok", files={
            "openclaw.json": j({"$include": ["a.json", "b.json"]}),
            "a.json": j(gw), "b.json": j({"channels": ch})})
        self.add("include~nested-3-ok", files={
            "openclaw.json": j({"$include": "l1.json"}),
            "l1.json": j({"$include": "l2.json", "agents": {"defaults": {}}}),
            "l2.json": j({"$include": "l3.json", "channels": ch}),
            "l3.json": j(gw)})
        self.add("include~nested-subdir-ok", files={
            "openclaw.json": j({"$include": "conf.d/main.json"}),
            "conf.d/main.json": j({"$include": "gw.json"}),
            "conf.d/gw.json": j(gw)})
        self.add("include~sibling-overrides", files={
            "openclaw.json": j({"$include": "gw.json", "gateway": {"port": 18790}}),
            "gw.json": j(gw)})
        self.add("include~sibling-bad-over-good", files={
            "openclaw.json": j({"$include": "gw.json", "gateway": {"port": "x"}}),
            "gw.json": j(gw)})
        self.add("include~missing", files={
            "openclaw.json": j({"$include": "nope.json", "gateway": {"mode": "local"}})})
        self.add("include~missing-in-section", files={
            "openclaw.json": j({"channels": {"$include": "nope.json"}})})
        self.add("include~missing-nested", files={
            "openclaw.json": j({"$include": "l1.json"}),
            "l1.json": j({"$include": "gone.json"})})
        self.add("include~cycle", files={
            "openclaw.json": j({"$include": "a.json"}),
            "a.json": j({"$include": "b.json"}), "b.json": j({"$include": "a.json"})})
        self.add("include~self", files={"openclaw.json": j({"$include": "openclaw.json"})})
        self.add("include~not-object", files={
            "openclaw.json": j({"$include": "list.json"}), "list.json": "[1, 2]"})
        self.add("include~bad-syntax", files={
            "openclaw.json": j({"$include": "bad.json"}), "bad.json": "{gateway: {"})
        self.add("include~not-a-string", files={"openclaw.json": j({"$include": 42})})
        self.add("include~escape", files={
            "openclaw.json": j({"$include": "../outside.json"})})
        self.add("include~unknown-top-in-file", files={
            "openclaw.json": j({"$include": "x.json"}), "x.json": j({UNKNOWN: 1})})
        self.add("include~env-in-file", files={
            "openclaw.json": j({"$include": "gw.json"}),
            "gw.json": j({"gateway": {"bind": "${CORPUS_BIND}"}})})

    def env(self):
        j = lambda v: json.dumps(v, indent=2)  # noqa: E731
        cases = [
            ("set-enum", {"gateway": {"bind": "${CORPUS_BIND}"}}, {}, None),
            ("set-number", {"gateway": {"port": "${CORPUS_PORT}"}}, {}, None),
            ("set-secret", {"gateway": {"auth": {"mode": "token", "token": "${CORPUS_TOKEN}"}}},
             {}, None),
            ("set-bad-enum", {"gateway": {"bind": "${CORPUS_TOKEN}"}}, {}, None),
            ("set-inside-string", {"gateway": {"bind": "${CORPUS_BIND}x"}}, {}, None),
            ("unset-enum", {"gateway": {"bind": "${CORPUS_UNSET}"}}, {}, None),
            ("unset-string", {"agents": {"defaults": {"workspace": "${CORPUS_UNSET}"}}}, {}, None),
            ("unset-secret", {"gateway": {"auth": {"mode": "token", "token": "${CORPUS_UNSET}"}}},
             {}, None),
            ("unset-in-channel", {"channels": {"telegram": {"botToken": "${CORPUS_UNSET}"}}},
             {}, None),
            ("escaped", {"agents": {"defaults": {"workspace": "$${CORPUS_TOKEN}"}}}, {}, None),
            ("escaped-enum", {"gateway": {"bind": "$${CORPUS_BIND}"}}, {}, None),
            ("lowercase", {"gateway": {"bind": "${corpus_bind}"}}, {"corpus_bind": "lan"}, None),
            ("from-env-vars", {"env": {"vars": {"CORPUS_V": "loopback"}},
                               "gateway": {"bind": "${CORPUS_V}"}}, {}, None),
            ("from-dotenv", {"gateway": {"bind": "${CORPUS_D}"}}, {}, "CORPUS_D=lan\n"),
            ("dotenv-bad", {"gateway": {"bind": "${CORPUS_D}"}}, {}, "CORPUS_D=moon\n"),
            ("empty-value", {"gateway": {"bind": "${CORPUS_EMPTY}"}}, {"CORPUS_EMPTY": ""}, None),
            ("in-key-name", {"channels": {"${CORPUS_BIND}": {}}}, {}, None),
            ("unset-in-plugin", {"plugins": {"entries": {"imap": {"config": {"accounts": {"a": {
                "agentId": "main", "host": "${CORPUS_UNSET}", "user": "u", "password": "p"}}}}}}},
             {}, None),
        ]
        for name, doc, env, dotenv in cases:
            files = {"openclaw.json": j(doc)}
            if dotenv is not None:
                files[".env"] = dotenv
            self.add("env~" + name, files=files, env=env)


def generate(bases, schema):
    """The corpus: [(name, {relpath: text}, {env})], deterministic for the same inputs."""
    return Gen(bases, schema).run()
