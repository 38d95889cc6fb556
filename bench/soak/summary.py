"""bench/run soak's verdict: reads what the driver measured, the mail received and the service's
log, prints a readable account on stderr and one JSON line on stdout, and exits 1 when the soak
found errors or memory that is not flat.

Memory is flat when the RSS after warm-up grows by less than FLAT_GROWTH of its level at the end
of warm-up or by less than FLAT_ALLOWANCE_KB, whichever is more. Warm-up is the first fifth of the
run (60 s of the default 300 s): the thread pool, the allocator's arenas and the first pages of
the store fill in it. Levels are medians of three samples (the three ending at the warm-up's end,
the last three), so one sample taken mid-burst does not decide.
Why 10%: a service whose memory follows its load rather than its age settles within a few
percent once warm. Why 64 MB as well: the soak starts on an empty store and writes 35 to 70 MB
of it in five minutes, and SQLite keeps the pages the writer connection touched, up to its
page cache's bound (64 MB, PRAGMA cache_size in server/store/sqlite_store.cpp), so a healthy
service still grows by up to that much while the store is smaller than the bound. Anything that
grows without bound passes both well within a longer soak (--seconds 3600) and fails it.
"""

import argparse
from email import policy
from email.parser import BytesHeaderParser
import json
import os
import statistics
import sys

FLAT_GROWTH = 0.10
FLAT_ALLOWANCE_KB = 64 * 1024


def level(samples):
    return statistics.median(samples) if samples else 0


def mail_received(folder):
    """(count, by kind) of the messages the SMTP server stored."""
    jsonl = os.path.join(folder, "messages.jsonl")
    if not os.path.exists(jsonl):
        return 0, {}
    kinds = {}
    count = 0
    with open(jsonl) as lines:
        for line in lines:
            if not line.strip():
                continue
            count += 1
            message = json.loads(line)
            with open(os.path.join(folder, message["file"]), "rb") as eml:
                subject = str(BytesHeaderParser(policy=policy.default).parse(eml)["subject"] or "")
            kind = ("reminder" if subject.startswith("Reminder") else
                    "approved" if subject.startswith("Plan review approved") else
                    "approval link" if subject.startswith("Approval needed") else "other")
            kinds[kind] = kinds.get(kind, 0) + 1
    return count, kinds


def service_log(path):
    """Error lines that are not requests, and requests answered >= 400, from the JSON log."""
    errors = {}
    refused = {}
    examples = []
    with open(path, errors="replace") as lines:
        for line in lines:
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if not isinstance(entry, dict):
                continue
            if entry.get("msg") == "request":
                status = entry.get("status", 0)
                if status >= 400 and entry.get("route") != "/readyz":
                    key = "%s %s %s" % (entry.get("method"), entry.get("route"), status)
                    refused[key] = refused.get(key, 0) + 1
            elif entry.get("level") == "error":
                errors[entry.get("msg", "")] = errors.get(entry.get("msg", ""), 0) + 1
                if len(examples) < 5:
                    examples.append(entry)
    return errors, refused, examples


def main():
    parser = argparse.ArgumentParser()
    for name in ("driver", "mail", "serve-log", "seconds", "mails-pending",
                 "mails-failed", "drain-seconds", "rss-idle-kb", "serve-status", "load-before",
                 "load-after"):
        parser.add_argument("--" + name, required=True)
    args = parser.parse_args()
    driver = json.load(open(args.driver))
    memory = driver["memory_samples"]  # [seconds, VmRSS, RssAnon, RssFile kB, CPU ms so far]
    planned = float(args.seconds)
    warmup = planned / 5
    warm = [m for m in memory if m[0] <= warmup]
    after = [m for m in memory if m[0] > warmup]
    def growth(field):
        if len(warm) < 1 or len(after) < 3:
            return None, None
        base = level([m[field] for m in warm[-3:]])
        end = level([m[field] for m in after[-3:]])
        return base, end - base
    rss_base, rss_growth = growth(1)
    anon_base, anon_growth = growth(2)
    file_base, file_growth = growth(3)
    limit = max(FLAT_GROWTH * rss_base, FLAT_ALLOWANCE_KB) if rss_base else None
    flat = rss_growth is not None and rss_growth < limit

    # The service's CPU time per request in each window (samples: [seconds, ..., cpu_ms]): a cost
    # that grows with the store shows here even when the machine's load moves the latencies.
    def cpu_at(t):
        before = [m for m in memory if m[0] <= t]
        later = [m for m in memory if m[0] >= t]
        if not before or not later:
            return None
        a, b = before[-1], later[0]
        return a[4] if b[0] == a[0] else a[4] + (b[4] - a[4]) * (t - a[0]) / (b[0] - a[0])
    windows = driver["windows"]
    for i, w in enumerate(windows):
        end = windows[i + 1]["from_s"] if i + 1 < len(windows) else planned
        used = (cpu_at(end), cpu_at(w["from_s"]))
        w["cpu_ms_per_request"] = (round((used[0] - used[1]) / w["requests"], 2)
                                   if None not in used and w["requests"] else None)
    cpu_total = memory[-1][4] - memory[0][4] if memory else 0

    mails, mail_kinds = mail_received(args.mail)
    log_errors, refused, log_examples = service_log(args.serve_log)
    def number(text):
        try:
            return int(float(text))
        except ValueError:
            return None
    mails_failed = number(args.mails_failed)
    mails_pending = number(args.mails_pending)

    out = {
        "bench": "soak",
        "seconds": driver["seconds"],
        "connections": driver["connections"],
        "skipped": driver["skipped"],
        "requests": driver["requests"],
        "errors": driver["errors"],
        "rps": driver["rps"],
        "p50_ms": driver["p50_ms"],
        "p90_ms": driver["p90_ms"],
        "p99_ms": driver["p99_ms"],
        "max_ms": driver["max_ms"],
        "rss_kb_samples": [m[1] for m in memory],
        "rss_anon_kb_samples": [m[2] for m in memory],
        "rss_file_kb_samples": [m[3] for m in memory],
        "rss_sample_seconds": [m[0] for m in memory],
        "warmup_seconds": warmup,
        "rss_after_warmup_kb": rss_base,
        "rss_growth_after_warmup_kb": rss_growth,
        "rss_anon_growth_after_warmup_kb": anon_growth,
        "rss_file_growth_after_warmup_kb": file_growth,
        "rss_growth_limit_kb": round(limit) if limit else None,
        "memory_flat": flat,
        "rss_idle_kb": number(args.rss_idle_kb),
        "instances_started": driver["instances_started"],
        "instances_approved": driver["instances_approved"],
        "mails_delivered": mails,
        "mails_by_kind": mail_kinds,
        "mails_pending": mails_pending,
        "mails_failed": mails_failed,
        "mail_drain_seconds": int(args.drain_seconds),
        "server_error_lines": log_errors,
        "server_refused": refused,
        "serve_exit": int(args.serve_status),
        "load_average_before": args.load_before,
        "load_average_after": args.load_after,
        "by_request": {k: {f: v[f] for f in ("requests", "errors", "rps", "p50_ms", "p99_ms", "max_ms")}
                       for k, v in driver["by_request"].items()},
        "server_cpu_s": round(cpu_total / 1000, 1),
        "server_cpu_ms_per_request": round(cpu_total / driver["requests"], 2) if driver["requests"] else None,
        "windows_fields": ["from_s", "rps", "p50_ms", "p99_ms", "errors", "cpu_ms_per_request"],
        "windows": [[w["from_s"], w["rps"], w["p50_ms"], w["p99_ms"], w["errors"], w["cpu_ms_per_request"]]
                    for w in windows],
        "windows_p50_ms_by_request": {k: [w["p50_ms_by_request"][k] for w in windows]
                                      for k in driver["by_request"]},
        "errors_by": driver["errors_by"],
        "error_examples": driver["error_examples"],
    }
    failures = []
    if driver["errors"]:
        failures.append("%d requests failed" % driver["errors"])
    if not flat:
        failures.append("memory not flat")
    if mails_failed:
        failures.append("%s mails given up" % mails_failed)
    if mails_pending:
        failures.append("%s mails still pending" % mails_pending)
    if log_errors:
        failures.append("error lines in the service's log")
    if int(args.serve_status) != 0:
        failures.append("sendflow serve exited %s" % args.serve_status)
    out["passed"] = not failures

    report = sys.stderr
    print("bench soak: %d requests in %.0f s (%.1f/s), %d errors; p50 %.1f ms, p90 %.1f ms, p99 %.1f ms"
          % (out["requests"], out["seconds"], out["rps"], out["errors"], out["p50_ms"],
             out["p90_ms"], out["p99_ms"]), file=report)
    for kind, v in driver["by_request"].items():
        print("  %-16s %7d requests %6.1f/s  p50 %8.1f ms  p99 %8.1f ms  max %8.1f ms  errors %d"
              % (kind, v["requests"], v["rps"], v["p50_ms"], v["p99_ms"], v["max_ms"], v["errors"]),
              file=report)
    print("  windows (from s: req/s, p50 ms, p99 ms, errors, service CPU ms per request):", file=report)
    for w in out["windows"]:
        print("    %4d s: %6.1f/s  p50 %7.1f  p99 %7.1f  errors %d  cpu %s" % tuple(w), file=report)
    print("  p50 ms of each request in each window:", file=report)
    for kind, series in out["windows_p50_ms_by_request"].items():
        print("    %-16s %s" % (kind, " ".join("%7.1f" % v for v in series)), file=report)
    print("  memory (s: VmRSS/RssAnon/RssFile MB): " +
          "; ".join("%.0f: %.1f/%.1f/%.1f" % (m[0], m[1] / 1024, m[2] / 1024, m[3] / 1024)
                    for m in memory), file=report)
    print("  service CPU %.1f s, %.2f ms per request" % (out["server_cpu_s"],
          out["server_cpu_ms_per_request"] or 0), file=report)
    if rss_base:
        print("  RSS after warm-up %.1f MB, growth %+.1f MB (anon %+.1f, file %+.1f), limit %.1f MB: %s"
              % (rss_base / 1024, rss_growth / 1024, anon_growth / 1024, file_growth / 1024,
                 limit / 1024, "flat" if flat else "NOT flat"), file=report)
    print("  instances started %d, approved %d; mail delivered %d %s, pending %s, failed %s "
          "(drained in %s s)" % (out["instances_started"], out["instances_approved"], mails,
                                 mail_kinds, mails_pending, mails_failed, args.drain_seconds),
          file=report)
    for what, n in sorted(driver["errors_by"].items()):
        print("  error: %s x%d" % (what, n), file=report)
    for e in driver["error_examples"]:
        print("  example: %s" % json.dumps(e), file=report)
    for key, n in sorted(refused.items()):
        print("  service log: %s x%d" % (key, n), file=report)
    for entry in log_examples:
        print("  service log error: %s" % json.dumps(entry)[:600], file=report)
    print("bench soak: %s" % ("passed" if not failures else "FAILED: " + ", ".join(failures)),
          file=report)
    print(json.dumps(out))
    return 0 if not failures else 1


if __name__ == "__main__":
    sys.exit(main())
