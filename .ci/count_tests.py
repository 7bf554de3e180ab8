#!/usr/bin/env python3
"""Counts test cases of one `bazel test` run from its build event JSON file.

Usage: count_tests.py BEP_JSON_FILE

Prints a per-target list of failures, then a last line of the form
    N passed, N failed, N skipped
and exits 1 if anything failed (0 otherwise).

Which test.xml files to read comes from the build event protocol file, not from
a walk of bazel-testlogs/: the BEP names exactly the XML files of this run
(bazel-testlogs can hold stale ones from earlier runs, or point at another
output base), and lists every test target -- including those whose test never
produced XML of its own (crashed, timed out, failed to build).

Per test case (JUnit <testcase> in test.xml):
  <failure> or <error> child              -> failed
  <skipped> child, status="notrun" (gtest
  DISABLED_), result skipped/suppressed    -> skipped
  otherwise                                -> passed
Per test target (cross-check with the BEP status):
  no test.xml, or unreadable XML           -> 1 failed case (if the run failed;
                                              1 passed if Bazel says it passed)
  run failed but XML shows no failed case  -> 1 extra failed case, e.g. a
     (exit code after the XML was written,    sanitizer report at exit
      a crash in static destructors)
  configured as a test but never run       -> 1 failed case (failed to build,
                                              or skipped after a build error)
"""

import json
import sys
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET
from collections import OrderedDict

PASSING_STATUSES = {"PASSED", "FLAKY"}


def uri_to_path(uri):
    parsed = urllib.parse.urlparse(uri)
    if parsed.scheme != "file":
        return None
    return urllib.request.url2pathname(parsed.path)


def read_events(path):
    with open(path, encoding="utf-8") as f:
        for line in f:
            line = line.strip()
            if line:
                yield json.loads(line)


def count_xml(path):
    """Returns (passed, failed, skipped, failed_case_names) for one test.xml."""
    root = ET.parse(path).getroot()
    passed = failed = skipped = 0
    failed_names = []
    for case in root.iter("testcase"):
        children = {child.tag for child in case}
        name = case.get("name", "?")
        if case.get("classname"):
            name = case.get("classname") + "." + name
        if "failure" in children or "error" in children:
            failed += 1
            problem = case.find("failure")
            if problem is None:
                problem = case.find("error")
            message = (problem.get("message") or "").strip().splitlines()
            failed_names.append(name + (" -- " + message[0][:160] if message else ""))
        elif ("skipped" in children or case.get("status") == "notrun"
              or case.get("result") in ("skipped", "suppressed")):
            skipped += 1
        else:
            passed += 1
    return passed, failed, skipped, failed_names


def main(argv):
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2

    test_targets = OrderedDict()  # label -> kind, from targetConfigured
    build_failures = {}           # label -> message, from targetCompleted
    results = {}                  # (label, run, shard) -> (attempt, status, xml)
    summaries = {}                # label -> overallStatus

    for event in read_events(argv[1]):
        event_id = event.get("id", {})
        if "targetConfigured" in event_id:
            configured = event.get("configured", {})
            kind = configured.get("targetKind", "")
            if "testSize" in configured or kind.endswith("_test rule"):
                test_targets[event_id["targetConfigured"]["label"]] = kind
        elif "targetCompleted" in event_id:
            label = event_id["targetCompleted"]["label"]
            completed = event.get("completed")
            if completed is not None and not completed.get("success", False):
                detail = completed.get("failureDetail", {}).get("message", "")
                build_failures[label] = detail.strip().splitlines()[0] if detail.strip() else ""
            elif "aborted" in event:
                build_failures[label] = event["aborted"].get("reason", "aborted")
        elif "testResult" in event_id:
            rid = event_id["testResult"]
            result = event.get("testResult", {})
            xml = None
            for output in result.get("testActionOutput", []):
                if output.get("name") == "test.xml":
                    xml = uri_to_path(output.get("uri", ""))
            key = (rid["label"], rid.get("run", 1), rid.get("shard", 1))
            attempt = rid.get("attempt", 1)
            # With --flaky_test_attempts only the last attempt counts.
            if key not in results or attempt >= results[key][0]:
                results[key] = (attempt, result.get("status", "NO_STATUS"), xml)
            test_targets.setdefault(rid["label"], "")
        elif "testSummary" in event_id:
            label = event_id["testSummary"]["label"]
            summaries[label] = event.get("testSummary", {}).get("overallStatus", "NO_STATUS")
            test_targets.setdefault(label, "")

    passed = failed = skipped = 0
    failures = []  # (label, reason, [case names])

    for label in test_targets:
        runs = sorted((k, v) for k, v in results.items() if k[0] == label)
        if not runs:
            failed += 1
            if label in build_failures:
                reason = "FAILED TO BUILD"
                if build_failures[label]:
                    reason += ": " + build_failures[label][:200]
            else:
                reason = "NOT RUN (%s)" % summaries.get(label, "no test result")
            failures.append((label, reason, []))
            continue
        for (_, run, shard), (attempt, status, xml) in runs:
            where = label
            if len(runs) > 1:
                where += " (run %d, shard %d)" % (run, shard)
            run_ok = status in PASSING_STATUSES
            counts = None
            xml_problem = ""
            if xml:
                try:
                    counts = count_xml(xml)
                except FileNotFoundError:
                    xml_problem = "no test.xml"
                except (OSError, ET.ParseError) as e:
                    xml_problem = "unreadable test.xml (%s)" % e
            else:
                xml_problem = "no test.xml"
            if counts is None:
                if run_ok:
                    passed += 1
                else:
                    failed += 1
                    failures.append((where, "%s, %s" % (status, xml_problem), []))
                continue
            p, f, s, names = counts
            passed += p
            failed += f
            skipped += s
            if not run_ok and f == 0:
                # The test binary failed outside any test case.
                failed += 1
                failures.append((where, "%s, but no failed test case in test.xml "
                                 "(crash or non-zero exit outside the tests?)" % status, []))
            elif f:
                failures.append((where, status, names))
            if status == "FLAKY":
                print("note: %s is FLAKY (passed on attempt %d)" % (where, attempt))

    if failures:
        print("Failed test targets:")
        for where, reason, names in failures:
            print("  %s: %s" % (where, reason))
            for name in names[:20]:
                print("      %s" % name)
            if len(names) > 20:
                print("      ... and %d more" % (len(names) - 20))
    if not test_targets:
        print("note: the build event file lists no test targets")

    print("%d passed, %d failed, %d skipped" % (passed, failed, skipped))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
