#!/usr/bin/env python3
"""Run `claw config validate` and the real `openclaw config validate --json` side by side.

Called by scripts/compare-validate.sh (which builds claw, installs OpenClaw and caches the
schema); stdlib only. Every case gets a fresh scratch OpenClaw state dir and HOME, and both
validators see exactly the same environment (nothing inherited from the caller), like `env -i`.

Cases:
  - every file in ../shared/samples/configs/ (read at run time, never stored in this repo);
  - mutations of those samples made at run time (see SAMPLE_MUTATIONS);
  - claw's own fixtures in tests/fixtures/configs/: a file is the config itself, a directory
    is copied whole into the state dir (its openclaw.json plus include targets, `.env`, ...);
  - the generated corpus (scripts/compare_corpus.py): a few hundred seeded mutations of the
    samples, of a richer base and of the schema's enums, `$include` and `${VAR}` cases.

OpenClaw's verdicts are cached by (OpenClaw version, case content, case environment) in
--cache, so a repeated run only re-runs claw; a case whose content changes, or another OpenClaw
version, is compared afresh. --no-cache always asks OpenClaw.

Compared per case: the verdict (valid or not) and the SET of error issue paths (OpenClaw's
`issues`; claw's issues with severity "error"). Also checked: claw without a schema
(`--no-schema`) never calls a config invalid that OpenClaw accepts.
Exit 0 when everything agrees, 1 on any disagreement, 2 on a harness problem.
"""

import argparse
import copy
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

import compare_corpus

# Variables set for both validators in every case (the fixtures refer to them).
CASE_ENV = {"PRESENT_VAR": "hello", "PORT_VAR": "18789", "BIND_VAR": "loopback"}


def _drop(doc, *path):
    node = doc
    for k in path[:-1]:
        node = node.get(k, {}) if isinstance(node, dict) else {}
    if isinstance(node, dict):
        node.pop(path[-1], None)


def _put(doc, path, value):
    node = doc
    for k in path[:-1]:
        node = node.setdefault(k, {})
    node[path[-1]] = value


def _fix_desktop_core(d):
    # Remove the two keys 2026.9.6 rejects in the core phase, so the channel phase runs.
    _drop(d, "meta", "lastTouchedAt")
    _drop(d, "commands", "ownerDisplay")


def _unknown_deep(d):
    _put(d, ["gateway", "auth", "bogusDeepKey"], True)


def _bad_bind(d):
    _put(d, ["gateway", "bind"], "everywhere")


def _port_string(d):
    _put(d, ["gateway", "port"], "18789")


# sample file stem -> how it becomes a base of the generated corpus.
GEN_BASES = {
    "desktop-2026.3.8": _fix_desktop_core,
    "operator-container-2026.9.2": lambda d: None,
    "allow-list-primary-omitted": lambda d: None,
}

# sample file stem -> [(suffix, mutation)]; applied to the parsed sample at run time.
SAMPLE_MUTATIONS = {
    "desktop-2026.3.8": [("core-fixed", _fix_desktop_core)],
    "operator-container-2026.9.2": [("unknown-deep", _unknown_deep), ("port-string", _port_string)],
    "allow-list-primary-omitted": [("bad-bind", _bad_bind)],
}


class Case:
    def __init__(self, name, kind, src=None, doc=None, files=None, env=None):
        self.name, self.kind, self.src, self.doc = name, kind, src, doc
        self.files, self.env = files, env or {}

    def install(self, state):
        """Put the case into an (empty) OpenClaw state dir."""
        if self.kind == "files":
            for rel, text in self.files.items():
                p = os.path.join(state, rel)
                os.makedirs(os.path.dirname(p), exist_ok=True)
                with open(p, "w") as f:
                    f.write(text)
        elif self.kind == "file":
            shutil.copyfile(self.src, os.path.join(state, "openclaw.json"))
        elif self.kind == "dir":
            for entry in os.listdir(self.src):
                s = os.path.join(self.src, entry)
                if os.path.isdir(s):
                    shutil.copytree(s, os.path.join(state, entry))
                else:
                    shutil.copyfile(s, os.path.join(state, entry))
        else:
            with open(os.path.join(state, "openclaw.json"), "w") as f:
                json.dump(self.doc, f, indent=2)


def collect_cases(fixtures, samples, schema):
    cases = []
    bases = []
    for entry in sorted(os.listdir(samples)):
        p = os.path.join(samples, entry)
        if not os.path.isfile(p):
            continue
        stem = entry.rsplit(".", 1)[0]
        cases.append(Case("sample:" + stem, "file", src=p))
        with open(p) as f:
            base = json.load(f)
        for suffix, fn in SAMPLE_MUTATIONS.get(stem, []):
            d = copy.deepcopy(base)
            fn(d)
            cases.append(Case("sample:%s~%s" % (stem, suffix), "doc", doc=d))
        # The generated corpus mutates what 2026.9.6 accepts (the desktop sample once its two
        # refused core keys are gone), so each mutation is the only thing wrong.
        if stem in GEN_BASES:
            d = copy.deepcopy(base)
            GEN_BASES[stem](d)
            bases.append((stem, d))
    for entry in sorted(os.listdir(fixtures)):
        p = os.path.join(fixtures, entry)
        if os.path.isdir(p):
            if not os.path.isfile(os.path.join(p, "openclaw.json")):
                raise SystemExit("compare: %s: case directory without openclaw.json" % p)
            cases.append(Case(entry, "dir", src=p))
        else:
            cases.append(Case(entry.rsplit(".", 1)[0], "file", src=p))
    bases.append(("rich", copy.deepcopy(compare_corpus.RICH)))
    for name, files, env in compare_corpus.generate(bases, schema):
        cases.append(Case(name, "files", files=files, env=env))
    return cases


def parse_json_out(stdout):
    start = stdout.find("{")
    if start < 0:
        return None
    try:
        return json.loads(stdout[start:])
    except ValueError:
        return None


class Verdict:
    def __init__(self, valid=None, errors=(), warnings=(), note=""):
        self.valid = valid
        self.errors = set(errors)
        self.warnings = set(warnings)
        self.note = note

    def label(self):
        if self.valid is None:
            return "ERROR(%s)" % self.note
        return "valid" if self.valid else "invalid"


def run(argv, env, timeout=120):
    p = subprocess.run(argv, env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                       timeout=timeout)
    return p.returncode, p.stdout, p.stderr


def case_key(case, state, env):
    """What OpenClaw's verdict depends on: every file of the case and the environment."""
    h = hashlib.sha256()
    for dirpath, dirs, files in os.walk(state):
        dirs.sort()
        for fn in sorted(files):
            p = os.path.join(dirpath, fn)
            with open(p, "rb") as f:
                data = f.read()
            h.update(b"%s\0%d\0" % (os.path.relpath(p, state).encode(), len(data)))
            h.update(data)
    for k in sorted(env):
        if k not in ("HOME", "OPENCLAW_STATE_DIR"):
            h.update(("%s=%s\0" % (k, env[k])).encode())
    return h.hexdigest()


class VerdictCache:
    """OpenClaw's verdicts by case key, one JSON file each, in a directory per version."""

    def __init__(self, root):
        self.root = root
        if root:
            os.makedirs(root, exist_ok=True)

    def get(self, key):
        if not self.root:
            return None
        try:
            with open(os.path.join(self.root, key + ".json")) as f:
                d = json.load(f)
            return Verdict(d["valid"], d["errors"], d["warnings"])
        except (OSError, ValueError, KeyError):
            return None

    def put(self, key, v):
        if not self.root or v.valid is None:
            return
        tmp = os.path.join(self.root, ".%s.%d.tmp" % (key, os.getpid()))
        with open(tmp, "w") as f:
            json.dump({"valid": v.valid, "errors": sorted(v.errors),
                       "warnings": sorted(v.warnings)}, f)
        os.replace(tmp, os.path.join(self.root, key + ".json"))


def openclaw_version(oc):
    code, out, err = run([oc, "--version"], {"PATH": "/usr/bin:/bin", "HOME": "/nonexistent"})
    words = [w for w in out.split() if w[:1].isdigit()]
    if code != 0 or not words:
        raise SystemExit("compare: %s --version failed: %s" % (oc, (out + err).strip()[:200]))
    return words[0]


def openclaw_verdict(oc, env):
    code, out, err = run([oc, "config", "validate", "--json"], env)
    doc = parse_json_out(out)
    if doc is None or "valid" not in doc:
        return Verdict(note="exit %d, no JSON: %s" % (code, (out + err).strip()[:200]))
    if doc["valid"] != (code == 0):
        return Verdict(note="exit %d disagrees with valid=%s" % (code, doc["valid"]))
    return Verdict(doc["valid"],
                   [i.get("path", "<root>") for i in doc.get("issues", [])],
                   [w.get("path", "<root>") for w in doc.get("warnings", [])])


def claw_verdict(claw, env, extra):
    code, out, err = run([claw, "--json", "config", "validate"] + extra, env)
    doc = parse_json_out(out)
    if doc is None or "valid" not in doc or code not in (0, 1):
        return Verdict(note="exit %d: %s" % (code, (err or out).strip()[:200])), None
    if doc["valid"] != (code == 0):
        return Verdict(note="exit %d disagrees with valid=%s" % (code, doc["valid"])), None
    issues = doc.get("issues", [])
    v = Verdict(doc["valid"],
                [i["path"] for i in issues if i["severity"] == "error"],
                [i["path"] for i in issues if i["severity"] != "error"])
    return v, doc.get("rules", {})


def fmt_paths(paths):
    return ", ".join("`%s`" % p for p in sorted(paths)) if paths else "–"


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--claw", required=True, help="claw binary")
    ap.add_argument("--openclaw", required=True, help="openclaw executable (runs under node 24)")
    ap.add_argument("--claw-state", required=True, help="claw state dir holding the cached schema")
    ap.add_argument("--claw-settings", required=True, help="claw settings file")
    ap.add_argument("--fixtures", required=True, help="claw's own case dir")
    ap.add_argument("--samples", required=True, help="../shared/samples/configs")
    ap.add_argument("--scratch", help="scratch dir (default: a new temp dir, removed afterwards)")
    ap.add_argument("--only", help="run only cases whose name contains this")
    ap.add_argument("--cache", help="directory for OpenClaw's verdicts (a subdirectory per "
                    "OpenClaw version is made in it)")
    ap.add_argument("--no-cache", action="store_true", help="always ask OpenClaw")
    ap.add_argument("--cached-only", action="store_true",
                    help="skip cases with no cached OpenClaw verdict (quick re-runs of claw "
                    "while changing it; never a full comparison)")
    ap.add_argument("--min-path-agreement", type=float, default=98.0,
                    help="least %% of cases whose error paths must agree (default 98; README "
                    "lists the known differences)")
    ap.add_argument("--jobs", type=int, default=int(os.environ.get("CLAW_COMPARE_JOBS", "2")),
                    help="cases run at once (default 2, env CLAW_COMPARE_JOBS)")
    a = ap.parse_args()

    schema = None
    try:
        with open(os.path.join(a.claw_state, "schemas", "current.json")) as f:
            cur = json.load(f)
        with open(os.path.join(a.claw_state, "schemas", cur["file"])) as f:
            schema = json.load(f)
    except (OSError, ValueError, KeyError) as e:
        print("compare: no cached schema in %s (%s)" % (a.claw_state, e), file=sys.stderr)
        return 2
    cases = collect_cases(a.fixtures, a.samples, schema)
    if a.only:
        cases = [c for c in cases if a.only in c.name]
    generated = sum(1 for c in cases if c.name.startswith("gen:"))
    own = sum(1 for c in cases if not c.name.startswith(("sample:", "gen:")))
    version = openclaw_version(a.openclaw)
    cache = VerdictCache(None if a.no_cache or not a.cache
                         else os.path.join(a.cache, "openclaw-" + version))
    scratch = a.scratch or tempfile.mkdtemp(prefix="claw-compare-")
    base_env = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "TZ": "UTC"}
    base_env.update(CASE_ENV)

    def one(i, c):
        root = os.path.join(scratch, "case%03d" % i)
        home, state = os.path.join(root, "home"), os.path.join(root, "state")
        os.makedirs(home)
        os.makedirs(state)
        c.install(state)
        env = dict(base_env, HOME=home, OPENCLAW_STATE_DIR=state)
        env.update(c.env)
        key = case_key(c, state, env)
        t = time.monotonic()
        oc = cache.get(key)
        cached = oc is not None
        if not cached and a.cached_only:
            return None
        if not cached:
            oc = openclaw_verdict(a.openclaw, env)
            cache.put(key, oc)
        t_oc = time.monotonic() - t
        cenv = dict(env, CLAW_STATE_DIR=a.claw_state, CLAW_SETTINGS=a.claw_settings,
                    XDG_CONFIG_HOME=os.path.join(root, "xdg-config"),
                    XDG_STATE_HOME=os.path.join(root, "xdg-state"))
        t = time.monotonic()
        cl, rules = claw_verdict(a.claw, cenv, [])
        ns, ns_rules = claw_verdict(a.claw, cenv, ["--no-schema"])
        return oc, cl, rules, ns, ns_rules, t_oc, time.monotonic() - t, cached

    rows, problems, schema_label = [], [], None
    t0 = time.monotonic()
    oc_time = claw_time = 0.0
    try:
        with ThreadPoolExecutor(max_workers=max(1, a.jobs)) as pool:
            results = list(pool.map(lambda ic: one(*ic), enumerate(cases)))
    finally:
        if not a.scratch:
            shutil.rmtree(scratch, ignore_errors=True)
    n_cached = 0
    path_diffs = []
    kept = [(c, r) for c, r in zip(cases, results) if r is not None]
    cases, results = [c for c, _ in kept], [r for _, r in kept]
    if a.cached_only:
        a.only = a.only or "(cached only)"
    for c, (oc, cl, rules, ns, ns_rules, t_oc, t_claw, cached) in zip(cases, results):
        n_cached += cached
        oc_time += t_oc
        claw_time += t_claw
        if rules is not None:
            if rules.get("kind") != "schema":
                problems.append("%s: claw did not use the cached schema: %s" % (c.name, rules))
            else:
                schema_label = rules.get("version")
        if ns_rules is not None and ns_rules.get("kind") != "structural":
            problems.append("%s: --no-schema still used %s" % (c.name, ns_rules))
        verdict_ok = oc.valid is not None and cl.valid is not None and oc.valid == cl.valid
        agree = verdict_ok and oc.errors == cl.errors
        no_schema_ok = not (oc.valid is True and ns.valid is not True)
        if not agree:
            line = "%s: openclaw %s %s, claw %s %s" % (
                c.name, oc.label(), sorted(oc.errors), cl.label(), sorted(cl.errors))
            # Every verdict must agree. Error paths must agree on the hand-written cases; on
            # the generated ones a path difference is counted and listed, and fails the run
            # only below --min-path-agreement (README lists the known differences).
            if not verdict_ok or not c.name.startswith("gen:"):
                problems.append(line)
            else:
                path_diffs.append(line)
        if not no_schema_ok:
            problems.append("%s: OpenClaw accepts it but claw --no-schema says %s %s" % (
                c.name, ns.label(), sorted(ns.errors)))
        rows.append((c.name, oc, cl, ns, agree, no_schema_ok))
    elapsed = time.monotonic() - t0

    print("## claw config validate vs openclaw config validate --json\n")
    print("claw schema: OpenClaw %s (cached by `claw config schema refresh`); OpenClaw %s; "
          "%d cases: %d from ../shared/samples/configs (files and hand-made mutations), %d of "
          "claw's own, %d generated (seed %d).\n"
          % (schema_label or "?", version, len(rows), len(rows) - own - generated, own,
             generated, compare_corpus.SEED))
    print("| case | openclaw | claw | openclaw error paths | claw error paths | agree | claw --no-schema |")
    print("|---|---|---|---|---|---|---|")
    for name, oc, cl, ns, agree, ns_ok in rows:
        ns_cell = ns.label() + ("" if ns_ok else " **REJECTS VALID**")
        print("| %s | %s | %s | %s | %s | %s | %s |" % (
            name, oc.label(), cl.label(), fmt_paths(oc.errors), fmt_paths(cl.errors),
            "yes" if agree else "**NO**", ns_cell))
    n_agree = sum(1 for r in rows if r[4])
    n_verdict = sum(1 for r in rows if r[1].valid is not None and r[1].valid == r[2].valid)
    n_invalid = sum(1 for r in rows if r[1].valid is False)
    n_inv_paths = sum(1 for r in rows if r[1].valid is False and r[4])
    n_ns = sum(1 for r in rows if r[5])
    pct = lambda n, d: 100.0 * n / d if d else 100.0  # noqa: E731
    print("\nverdicts agree: %d/%d (%.1f %%); error paths agree: %d/%d (%.1f %%) of all cases, "
          "%d/%d (%.1f %%) of those OpenClaw rejects; no config OpenClaw accepts is called "
          "invalid without a schema: %d/%d"
          % (n_verdict, len(rows), pct(n_verdict, len(rows)), n_agree, len(rows),
             pct(n_agree, len(rows)), n_inv_paths, n_invalid, pct(n_inv_paths, n_invalid),
             n_ns, len(rows)))
    print("time: %.1f s wall with %d jobs (summed: openclaw %.1f s for %d runs, %d verdicts "
          "from the cache; claw %.1f s for %d runs)"
          % (elapsed, a.jobs, oc_time, len(rows) - n_cached, n_cached, claw_time, 2 * len(rows)))
    if path_diffs:
        print("\nerror paths differ (generated cases; verdicts agree):", file=sys.stderr)
        for p in path_diffs:
            print("  " + p, file=sys.stderr)
    if not a.only and pct(n_agree, len(rows)) < a.min_path_agreement:
        problems.append("error paths agree on %.1f %% of cases, below --min-path-agreement %.1f"
                        % (pct(n_agree, len(rows)), a.min_path_agreement))
    if problems:
        print("\nDISAGREEMENTS:", file=sys.stderr)
        for p in problems:
            print("  " + p, file=sys.stderr)
        return 1
    if own < 30 and not a.only:
        print("compare: only %d own cases (want at least 30)" % own, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
