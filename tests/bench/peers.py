#!/usr/bin/env python3
"""Measuring and reporting half of tests/bench/peers.sh (see there).

    peers.py measure LABEL RUNS [--discard] -- CMD...
        Run CMD RUNS times inside the bench instance's network namespace,
        under /usr/bin/time, and append one JSON line per run to
        $RESULTS/runs.jsonl: wall seconds, peak RSS (KiB), exit code and the
        API requests it made (the audit log lines appended during the run,
        user kubernetes-admin, stage ResponseComplete, distinct auditIDs;
        nothing else uses the admin identity while the benchmark runs). The
        last run's stdout is kept as $RESULTS/LABEL.out (unless --discard).
    peers.py caught
        Parse the kept outputs of the scans against the manifest of expected
        findings (bench-grow.json) into $RESULTS/caught.json.
    peers.py report
        Write docs/benchmarks.md from $RESULTS.

Environment: RESULTS (results dir), NETNS, ENV_FILE (the instance's env
file), GROW (bench-grow.json), and for `report` the facts peers.sh gathered
in $RESULTS/facts.json.
"""

import json
import os
import re
import statistics
import subprocess
import sys
import time

RESULTS = os.environ.get("RESULTS", "/tmp/svcdiscover-bench-results")


def env_of_instance():
    env = {}
    with open(os.environ["ENV_FILE"]) as f:
        for line in f:
            if "=" in line:
                k, v = line.rstrip("\n").split("=", 1)
                env[k] = v
    return env


def audit_requests(path, offset):
    """Distinct admin requests in the audit log after byte `offset`, and their user agents."""
    ids, agents = set(), {}
    with open(path, "rb") as f:
        f.seek(offset)
        for raw in f:
            try:
                e = json.loads(raw)
            except ValueError:
                continue
            if e.get("stage") != "ResponseComplete":
                continue
            if (e.get("user") or {}).get("username") != "kubernetes-admin":
                continue
            ids.add(e["auditID"])
            ua = (e.get("userAgent") or "?").split(" ")[0]
            agents[ua] = agents.get(ua, 0) + 1
    return len(ids), agents


def measure(args):
    label, runs = args[0], int(args[1])
    rest = args[2:]
    discard = False
    if rest and rest[0] == "--discard":
        discard, rest = True, rest[1:]
    if rest and rest[0] == "--":
        rest = rest[1:]
    ienv = env_of_instance()
    audit = ienv["SVCDISCOVER_E2E_AUDIT_LOG"]
    os.makedirs(RESULTS, exist_ok=True)
    out_path = os.path.join(RESULTS, f"{label}.out")
    tfile = os.path.join(RESULTS, f".{label}.time")
    for i in range(runs):
        offset = os.path.getsize(audit)
        with open(os.devnull if discard else out_path, "wb") as out, \
                open(os.path.join(RESULTS, f"{label}.err"), "wb") as err:
            cmd = ["ip", "netns", "exec", os.environ["NETNS"], "env", *[f"{k}={v}" for k, v in ienv.items()],
                   "/usr/bin/time", "-f", "%e %M", "-o", tfile, *rest]
            rc = subprocess.run(cmd, stdout=out, stderr=err).returncode
        with open(tfile) as f:
            last = f.read().strip().splitlines()[-1]
        wall, rss = last.split()
        # The audit backend is blocking: every line is written before its
        # response; a short pause covers the last lines' flush.
        time.sleep(1)
        reqs, agents = audit_requests(audit, offset)
        with open("/proc/loadavg") as f:
            load = float(f.read().split()[0])
        row = {"label": label, "run": i + 1, "wall_s": float(wall), "rss_kib": int(rss), "exit": rc,
               "requests": reqs, "user_agents": agents, "load1": load, "at": time.strftime("%H:%M:%S", time.gmtime())}
        print(json.dumps(row), file=sys.stderr, flush=True)
        with open(os.path.join(RESULTS, "runs.jsonl"), "a") as f:
            f.write(json.dumps(row) + "\n")


# --------------------------------------------------------------------------
# What each tool caught.

def load_json(path):
    try:
        with open(path) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def owner_of(pod_name, services_in_ns):
    """The bench Service whose Deployment made this pod (svc-NNN-<rs hash>-<suffix>)."""
    m = re.match(r"^(svc-\d{3})-[a-z0-9]+-[a-z0-9]+$", pod_name)
    return m.group(1) if m and m.group(1) in services_in_ns else None


def caught_ours(doc, grow):
    """Per broken Service: (level, detail)."""
    reports = {}
    for r in (doc or {}).get("reports", []):
        reports[(r["service"]["namespace"], r["service"]["name"])] = r
    res, flagged = {}, 0
    for e in grow["broken"]:
        r = reports.get((e["namespace"], e["name"]))
        if r is None:
            res[(e["namespace"], e["name"])] = ("missed", "not in the scan")
            continue
        codes = list(dict.fromkeys(f["code"] for f in r.get("findings", []) if f.get("severity") in ("error", "warning")))
        hit = [c for c in e["expected_codes"] if c in codes]
        res[(e["namespace"], e["name"])] = ("service+cause" if hit else "missed", ",".join(codes) or r.get("verdict"))
    for h in grow["healthy"]:
        r = reports.get((h["namespace"], h["name"]))
        if r is not None and r.get("verdict") not in ("reachable",):
            flagged += 1
    return res, flagged


CAUSE_WORDS = {
    "image-pull": ["ImagePullBackOff", "ErrImagePull", "pull"],
    "crash-loop": ["CrashLoopBackOff", "restart", "crash", "termination reason"],
    "not-ready": ["Readiness", "readiness", "not ready", "Unhealthy"],
    "unschedulable": ["Unschedulable", "FailedScheduling", "node(s)", "affinity", "selector"],
}


def caught_k8sgpt(doc, grow):
    svc_msgs, pod_msgs = {}, {}
    names = {}
    for e in grow["broken"] + grow["healthy"]:
        names.setdefault(e["namespace"], set()).add(e["name"])
    for r in (doc or {}).get("results") or []:
        kind, name = r.get("kind"), r.get("name", "")
        if "/" not in name:
            continue
        ns, n = name.split("/", 1)
        text = " | ".join(x.get("Text", "") for x in r.get("error") or [])
        if kind == "Service":
            svc_msgs[(ns, n)] = text
        elif kind == "Pod":
            o = owner_of(n, names.get(ns, set()))
            if o:
                pod_msgs.setdefault((ns, o), []).append(text)
    return classify(grow, svc_msgs, pod_msgs)


def caught_popeye(doc, grow):
    svc_msgs, pod_msgs = {}, {}
    names = {}
    for e in grow["broken"] + grow["healthy"]:
        names.setdefault(e["namespace"], set()).add(e["name"])
    sections = ((doc or {}).get("popeye") or {}).get("sections") or []
    for s in sections:
        linter = s.get("linter")
        for obj, issues in (s.get("issues") or {}).items():
            msgs = [i.get("message", "") for i in issues or [] if int(i.get("level", 0)) >= 2]
            if not msgs or "/" not in obj:
                continue
            ns, n = obj.split("/", 1)
            if linter == "services":
                svc_msgs[(ns, n)] = " | ".join(msgs)
            elif linter == "pods":
                o = owner_of(n, names.get(ns, set()))
                if o:
                    pod_msgs.setdefault((ns, o), []).extend(msgs)
    return classify(grow, svc_msgs, pod_msgs)


def classify(grow, svc_msgs, pod_msgs):
    res = {}
    for e in grow["broken"]:
        key = (e["namespace"], e["name"])
        words = CAUSE_WORDS.get(e["broken"], [])
        # Pods count only for the kinds whose cause is in the pods (the
        # pods of a selector typo or of a selectorless Service's Deployment
        # are not behind the Service).
        pods = pod_msgs.get(key, []) if words else []
        pod_cause = next((m for m in pods if any(w in m for w in words)), pods[0] if pods else None)
        if key in svc_msgs:
            text = svc_msgs[key]
            if not words or any(w in text for w in words):
                res[key] = ("service+cause", text[:160])
            elif pod_cause is not None:
                res[key] = ("service+pods", f"{text[:100]} … pod: {pod_cause[:100]}")
            else:
                res[key] = ("service", text[:160])
        elif pod_cause is not None:
            res[key] = ("pod-only", pod_cause[:160])
        else:
            res[key] = ("missed", "")
    flagged = sum(1 for h in grow["healthy"] if (h["namespace"], h["name"]) in svc_msgs)
    return res, flagged


def caught(_args):
    grow = load_json(os.environ["GROW"])
    out = {}
    for tool, label, fn in [("kubectl-svcdiscover", "large-scan-ours", caught_ours),
                            ("k8sgpt", "large-scan-k8sgpt", caught_k8sgpt),
                            ("popeye", "large-scan-popeye", caught_popeye)]:
        doc = load_json(os.path.join(RESULTS, f"{label}.out"))
        if doc is None:
            out[tool] = {"error": f"no parsable output in {label}.out"}
            continue
        res, flagged = fn(doc, grow)
        per_kind = {}
        example = {}
        for e in grow["broken"]:
            level, detail = res[(e["namespace"], e["name"])]
            k = per_kind.setdefault(e["broken"], {"service+cause": 0, "service+pods": 0, "service": 0, "pod-only": 0, "missed": 0})
            k[level] += 1
            example.setdefault((e["broken"], level), f"{e['namespace']}/{e['name']}: {detail}")
        out[tool] = {"per_kind": per_kind, "healthy_flagged": flagged, "healthy": len(grow["healthy"]),
                     "examples": {f"{k}|{lvl}": v for (k, lvl), v in example.items()}}
    with open(os.path.join(RESULTS, "caught.json"), "w") as f:
        json.dump(out, f, indent=1)
    print(json.dumps(out, indent=1))


# --------------------------------------------------------------------------
# The report.

def runs_by_label():
    rows = {}
    try:
        with open(os.path.join(RESULTS, "runs.jsonl")) as f:
            for line in f:
                r = json.loads(line)
                r["requests_all"] = r["requests"]
                r["requests"] = own_requests(r)
                rows.setdefault(r["label"], []).append(r)
    except OSError:
        pass
    return rows


# The user agent of each run's own requests (kubectl-svcdiscover sends none).
AGENTS = {"ours": "?", "floor": "kubectl", "popeye": "popeye", "k8sgpt": "k8sgpt"}


def own_requests(r):
    """The run's requests made by its own tool (by user agent): k8sgpt's scan
    takes many minutes and may run beside the others."""
    agents = r.get("user_agents") or {}
    tool = r["label"].rsplit("-", 1)[-1]
    prefix = AGENTS.get(tool)
    if not agents or prefix is None:
        return r["requests"]
    return sum(n for a, n in agents.items() if a.startswith(prefix))


def fmt_runs(rows, key, fmt):
    return ", ".join(fmt(r[key]) for r in rows)


def med(rows, key):
    return statistics.median(r[key] for r in rows) if rows else None


def report(_args):
    facts = load_json(os.path.join(RESULTS, "facts.json")) or {}
    grow = load_json(os.environ["GROW"]) or {}
    caughtd = load_json(os.path.join(RESULTS, "caught.json")) or {}
    rows = runs_by_label()
    mib = lambda kib: f"{kib / 1024:.0f} MiB"
    sec = lambda s: f"{s:.2f} s"
    L = []
    w = L.append
    w("# Benchmarks: a large simulated cluster, the floor and the peers")
    w("")
    w("Written by `tests/bench/peers.sh` (not part of CI); re-run it to refresh this page. "
      "Everything below was measured in one run of the script, on the machine described here, "
      "with other people's builds running beside it: the absolute figures are noisy; compare the ratios "
      "measured in the same run, and look at the individual runs next to each median.")
    w("")
    w("## Machine and versions")
    w("")
    for k in ["machine", "load", "this tool", "Kubernetes", "kwok", "k8sgpt", "popeye", "Go", "Rust", "date"]:
        if k in facts:
            w(f"- **{k}:** {facts[k]}")
    w("")
    w("## The cluster")
    w("")
    w("A second instance of the test cluster (`SVCDISCOVER_CLUSTER_NETNS=svcdiscover-bench`, see docs/testing.md), "
      "first as `tests/cluster/up` leaves it (the e2e scenario: the *small* cluster), then grown by "
      "`tests/bench/grow-cluster`: kwok nodes, namespaces `bench-00`…`bench-19`, in each 100 Services with a "
      "Deployment of 10 pods each (pods made by the ReplicaSet controller, placed by the real scheduler, "
      "played by kwok), a tenth of the Services broken (10 per namespace, cycling through the kinds below).")
    w("")
    small = facts.get("small_counts") or {}
    large = (grow.get("counts") or {})
    w("| objects | small | large |")
    w("|---|---|---|")
    for k in ["nodes", "namespaces", "services", "deployments", "endpointslices", "pods", "events"]:
        w(f"| {k} | {small.get(k, '')} | {large.get(k, '')} |")
    phases = sorted(set((small.get("pods_by_phase") or {})) | set((large.get("pods_by_phase") or {})))
    for p in phases:
        w(f"| pods {p} | {(small.get('pods_by_phase') or {}).get(p, 0)} | {(large.get('pods_by_phase') or {}).get(p, 0)} |")
    w("")
    if large:
        w(f"Growing took {large.get('grow_seconds')} s; EndpointSlices settled: {large.get('settled')}.")
        w("")
    w("The broken Services (the manifest of expected findings is the script's `bench-grow.json`):")
    w("")
    w("| kind | Services | how | expected finding |")
    w("|---|---|---|---|")
    per = {}
    for e in grow.get("broken", []):
        per[e["broken"]] = per.get(e["broken"], 0) + 1
    for k, v in (grow.get("kinds") or {}).items():
        w(f"| {k} | {per.get(k, 0)} | {v['how']} | `{'`, `'.join(v['expected_codes'])}` |")
    w("")
    w("## Commands")
    w("")
    w("All run inside the instance's network namespace as the cluster admin (`KUBECONFIG` = the admin kubeconfig):")
    w("")
    w("```")
    for c in facts.get("commands", []):
        w(c)
    w("```")
    w("")
    w("Wall time and peak RSS from `/usr/bin/time -f '%e %M'`; API requests from the instance's audit log "
      "(every request is audited, blocking backend; the lines of user `kubernetes-admin` at stage "
      "ResponseComplete written during the run, nothing else uses that identity meanwhile).")
    w("")

    def table(title, labels):
        w(f"### {title}")
        w("")
        w("| run | wall (median) | peak RSS (median) | API requests | runs: wall / RSS / requests | exit |")
        w("|---|---|---|---|---|---|")
        for label, name in labels:
            rs = rows.get(label)
            if not rs:
                w(f"| {name} | not measured | | | | |")
                continue
            w(f"| {name} | {sec(med(rs, 'wall_s'))} | {mib(med(rs, 'rss_kib'))} | {med(rs, 'requests'):.0f} | "
              f"{fmt_runs(rs, 'wall_s', lambda v: f'{v:.2f}')} s / {fmt_runs(rs, 'rss_kib', lambda v: f'{v / 1024:.0f}')} MiB / "
              f"{fmt_runs(rs, 'requests', str)} | {fmt_runs(rs, 'exit', str)} |")
        w("")

    table("One Service (`service-pay-v1 -n default --no-probe -o json`)",
          [("small-one-ours", "small cluster"), ("large-one-ours", "large cluster")])
    table("Every Service (`-A`)",
          [("large-floor", "floor: `kubectl get services,endpointslices,pods -A -o json`"),
           ("large-scan-ours", "`kubectl-svcdiscover -A -o json`"),
           ("large-scan-popeye", "Popeye"),
           ("large-scan-k8sgpt", "k8sgpt")])
    if rows.get("small-floor") or rows.get("small-scan-ours"):
        table("Every Service of the small cluster (for scale)",
              [("small-floor", "floor"), ("small-scan-ours", "`kubectl-svcdiscover -A`")])
    ratios = []
    f, o, p, k = (med(rows.get(x, []), "wall_s") for x in ["large-floor", "large-scan-ours", "large-scan-popeye", "large-scan-k8sgpt"])
    if f and o:
        ratios.append(f"the `-A` scan takes {o / f:.2f}× the floor's wall time (target: at most 0.5×)")
    if p and o:
        ratios.append(f"{o / p:.2f}× Popeye's (target: under 1×)")
    if k and o:
        ratios.append(f"{o / k:.3f}× k8sgpt's")
    if rows.get("large-scan-ours"):
        ratios.append(f"its peak RSS is {mib(med(rows['large-scan-ours'], 'rss_kib'))} (target: under 300 MB)")
    s1, l1 = med(rows.get("small-one-ours", []), "wall_s"), med(rows.get("large-one-ours", []), "wall_s")
    if s1 and l1:
        ratios.append(f"one Service takes {l1 / s1:.1f}× as long on the large cluster as on the small one, "
                      f"{med(rows['large-one-ours'], 'requests'):.0f} requests against {med(rows['small-one-ours'], 'requests'):.0f}, "
                      f"{mib(med(rows['large-one-ours'], 'rss_kib'))} against {mib(med(rows['small-one-ours'], 'rss_kib'))} (target: the same)")
    if ratios:
        w("Ratios (medians of the same run): " + "; ".join(ratios) + ".")
        w("")
    agents = {}
    for label, rs in rows.items():
        for r in rs:
            for a, n in r.get("user_agents", {}).items():
                agents.setdefault(label, set()).add(a)
    if agents:
        w("User agents seen in the audit log per run label (a check that the count is the tool's own): " +
          "; ".join(f"{l}: {', '.join(sorted(a))}" for l, a in sorted(agents.items())) + ".")
        w("")
    w("## What each tool caught among the broken tenth")
    w("")
    w("Each tool's JSON output of the `-A` run above, parsed against the manifest: **Service + cause**: the "
      "Service itself is reported, with the pods' cause in that entry (for kinds with a pod cause) or the expected code; "
      "**Service, cause on its pods**: the Service is reported without the cause, and its pods are reported "
      "separately with it; **Service**: reported at the Service, the cause nowhere; **pod only**: only its pods are reported, "
      "never tied to the Service; **missed**: neither. Popeye issues count from level 2 (warning) up. "
      "*Healthy flagged*: healthy bench Services the tool reports at Service level (ours: any verdict but "
      "`reachable`).")
    w("")
    for tool in ["kubectl-svcdiscover", "k8sgpt", "popeye"]:
        c = caughtd.get(tool)
        w(f"### {tool}")
        w("")
        if not c or "error" in c:
            w(f"Not available: {(c or {}).get('error', 'not measured')}.")
            w("")
            continue
        w("| kind | Service + cause | Service, cause on its pods | Service | pod only | missed | example |")
        w("|---|---|---|---|---|---|---|")
        for kind, v in c["per_kind"].items():
            ex = ""
            for lvl in ["missed", "pod-only", "service", "service+pods", "service+cause"]:
                if v.get(lvl):
                    ex = c["examples"].get(f"{kind}|{lvl}", "")
                    break
            ex = ex.replace("|", "\\|")
            w(f"| {kind} | {v['service+cause']} | {v['service+pods']} | {v['service']} | {v['pod-only']} | {v['missed']} | {ex} |")
        w("")
        w(f"Healthy flagged: {c['healthy_flagged']} of {c['healthy']}.")
        w("")
    # The reading is written by hand after looking at the figures: kept from
    # the page as it was (everything from its "## Reading" heading on).
    doc = os.environ.get("DOC", "docs/benchmarks.md")
    kept = []
    if os.path.exists(doc):
        with open(doc) as fh:
            lines = fh.read().splitlines()
        for i, line in enumerate(lines):
            if line.startswith("## Reading"):
                kept = lines[i:]
                break
    if kept:
        L.extend(kept)
    else:
        w("## Reading")
        w("")
        w("(to be written after looking at the figures above)")
    sys.stdout.write("\n".join(L) + "\n")


if __name__ == "__main__":
    cmd, rest = sys.argv[1], sys.argv[2:]
    {"measure": measure, "caught": caught, "report": report}[cmd](rest)
