#!/usr/bin/env bash
# The reliability results page: runs the tests that check the promises of the reliability
# design (faults, bad input, security, audit, isolation) and writes docs/reliability.md — for
# each promise, the tests that check it, whether they passed and the figure each printed.
#
#   deploy/local/reliability.sh           run the tests, write docs/reliability.md
#   WAYMARK_LONG=1 deploy/local/reliability.sh   the same with the long variants (more
#                                         records, more faults: minutes longer)
#   deploy/local/reliability.sh --from LOG   write the page from a saved nextest log instead
#
# The page is a record of one run (its date, commit and command are on it), not a check: a
# failing test is shown as FAIL with whatever it printed, and the script exits non-zero after
# writing the page. It starts RabbitMQ and PostgreSQL on loopback (deploy/local/rabbitmq.sh,
# deploy/local/postgres.sh) as the test command does; the fault tests start their own brokers
# and cluster beside them.
#
# The table below is the page's content: promise | package | test (nextest name) | pattern
# (a Python regex, may hold `|`; the test's stderr lines that match are its figure, "." for
# any line).
set -euo pipefail
cd "$(dirname "$0")/../.."

TABLE='
1|waymark|faults::broker::broker_killed_three_times_mid_stream_loses_and_duplicates_nothing|^faults:
1|waymark|faults::worker::worker_processes_killed_mid_stream_lose_and_duplicate_nothing|^faults:
1|waymark|faults::postgres::postgres_restarted_mid_run_loses_nothing_and_the_api_answers_503_meanwhile|^faults:
1|waymark|faults::source::prison_api_resetting_and_slow_still_records_every_notification_once|^faults:
1|waymark|faults::alarm::memory_alarm_blocks_publishers_and_loses_nothing_afterwards|^faults:
1|waymark-bus|rabbit_restart::kill_the_broker_three_times_over_10_000_messages_then_raise_an_alarm|^(rabbitmq bus|memory alarm)
1|waymark-store|restart_pg::a_restarted_server_fails_transiently_then_nothing_is_lost|.
1|waymark|restart::crash_mid_stream_then_restart_loses_and_duplicates_nothing|^restart:
1|waymark|processes::stages_as_processes_share_the_work_and_process_nothing_twice|^Expected
1|waymark-delivery|outage::ten_minutes_down_then_back_delivers_everything_once_in_order|.
1|waymark-delivery|gaps::every_seventh_lost_is_detected_and_refilled|.
1|waymark-delivery|dead_letters::exhausted_retries_are_dead_lettered_then_resent_on_request|.
1|waymark-record|properties::the_record_is_independent_of_order_and_repeats|.
1|waymark-identity|properties::no_person_ever_holds_conflicting_strong_identifiers|.
2|waymark-testkit|corpus::every_target_survives_its_corpus_and_mutations_of_it|.
2|waymark-testkit|limits::hostile_bundles_are_refused_unexamined|.
2|waymark-api|limits::hostile_bodies_and_queries_are_refused_fast|^api:
2|waymark-api|schemathesis::schemathesis_finds_no_server_errors|.
2|waymark-pipeline|stages::garbage_on_the_ingest_queue_is_quarantined_not_crashed_on|.
3|waymark-policy|properties::no_role_is_ever_pushed_a_class_outside_its_policy_and_consent|.
3|waymark-policy|properties::a_weakened_policy_fails_the_push_property|.
3|waymark-policy|property_pull::no_role_ever_pulls_a_class_outside_its_policy_and_consent|.
3|waymark-api|fhir_matrix::every_endpoint_role_and_consent_state_gives_the_expected_outcome|.
3|waymark-api|auth::revocation_stops_the_very_next_request|.
3|waymark-api|auth::expired_and_not_yet_valid_tokens_are_rejected|.
3|waymark-api|auth::wrong_audience_and_wrong_issuer_are_rejected|.
3|waymark|tls_binding::a_client_bound_to_its_certificate_is_refused_without_it_or_with_another|^mtls
3|waymark-api|subscriptions::isolation::the_production_policy_refuses_private_and_plain_http_endpoints|.
3|waymark-delivery|outbound::connect_time_check_refuses_names_resolving_to_private_addresses|.
3|waymark-api|subscriptions::isolation::a_client_subscribes_as_itself_and_never_sees_another_organisations|.
3|waymark-delivery|webhooks::tampered_id_timestamp_or_body_is_refused|.
3|waymark|canary::identifiers_and_names_from_the_samples_never_appear_in_logs|.
4|waymark-api|audit::allowed_and_denied_requests_are_all_audited|.
4|waymark-api|audit::a_failing_audit_log_turns_data_into_a_503|.
4|waymark-audit|chain::every_kind_of_tampering_is_found|.
4|waymark-health|break_glass::each_use_raises_with_the_count_and_a_quiet_window_clears|.
5|waymark-delivery|isolation::a_slow_and_a_failing_endpoint_do_not_delay_the_others|.
5|waymark-testkit|proxy::reset_sends_rst_to_new_and_open_connections|.
5|waymark-testkit|proxy::half_open_reads_and_never_answers|.
6|waymark|worked_example::the_receiving_system_page_works_as_written|.
'

PAGE=docs/reliability.md
LOG="${TMPDIR:-/tmp}/waymark-reliability.log"

if [ "${1:-}" = "--from" ]; then
  LOG="${2:?--from LOG}"
  COMMAND="(page rewritten from a saved log)"
  STATUS=0
else
  eval "$(deploy/local/rabbitmq.sh start)"
  deploy/local/postgres.sh start >/dev/null
  set -a
  # shellcheck disable=SC1091
  source "${WAYMARK_SERVICES_DIR:-/tmp/waymark-services}/postgres.env"
  set +a
  FILTER="$(printf '%s\n' "$TABLE" | awk -F'|' 'NF >= 4 {
      printf "%s(package(%s) & test(=%s))", (n++ ? " | " : ""), $2, $3 }')"
  COMMAND="cargo nextest run --workspace --no-fail-fast --success-output immediate --failure-output immediate --color never -E '<the ${#FILTER}-character filter of deploy/local/reliability.sh>'"
  [ "${WAYMARK_LONG:-}" = 1 ] && COMMAND="WAYMARK_LONG=1 $COMMAND"
  echo "reliability.sh: running $(printf '%s\n' "$TABLE" | grep -c '|') tests (log: $LOG)" >&2
  STATUS=0
  cargo nextest run --workspace --no-fail-fast --success-output immediate \
    --failure-output immediate --color never -E "$FILTER" >"$LOG" 2>&1 || STATUS=$?
fi

TABLE="$TABLE" LOG="$LOG" PAGE="$PAGE" COMMAND="$COMMAND" LONG="${WAYMARK_LONG:-}" \
  COMMIT="$(git rev-parse --short HEAD 2>/dev/null || echo unknown)" python3 - <<'PY'
import os, re, datetime

PROMISES = {
    "1": "No acknowledged message is lost; no effect is applied twice",
    "2": "No stage crashes on bad input",
    "3": "No role ever receives a data class its policy denies (push or pull); nothing leaks",
    "4": "Every access and every release is audited before data leaves, tamper-evident",
    "5": "One failing subscriber or source never delays the others (and the fault tools work)",
    "6": "The worked example works as written",
}
rows = [l.split("|", 3) for l in os.environ["TABLE"].strip().splitlines() if l.count("|") >= 3]

# nextest --success-output/--failure-output immediate: a status line per test, then its
# captured output, the stderr part under "  stderr ───", each line indented by 4.
status_re = re.compile(r"^\s+(PASS|FAIL|SIGSEGV|SIGABRT|TIMEOUT|LEAK)\s+\[\s*([\d.]+)s\]\s+(?:\(\s*\d+/\d+\)\s+)?(\S+)::it (\S+)")
results, current, section = {}, None, None
for line in open(os.environ["LOG"], errors="replace"):
    line = line.rstrip("\n")
    m = status_re.match(line)
    if m:
        current = (m.group(3), m.group(4))
        if current in results:  # the end-of-run summary repeats the failures
            current = None
            continue
        results[current] = {"status": m.group(1), "secs": float(m.group(2)), "stderr": []}
        section = None
        continue
    if current is None:
        continue
    head = line.strip()
    if head.startswith("stdout ─") or head.startswith("stderr ─"):
        section = head.split()[0]
        continue
    if line.startswith("    ") and section == "stderr":
        results[current]["stderr"].append(line[4:])
    elif line and not line.startswith("    ") and not head.startswith(("stdout", "stderr")):
        section = None

noise = re.compile(r"\x1b\[|^\d{4}-\d\d-\d\dT| (WARN|ERROR|INFO|DEBUG) |^thread '|^note: |^stack backtrace")
def figure(res, pattern):
    lines = [l.strip() for l in res["stderr"] if l.strip() and not noise.search(l)]
    picked = [l for l in lines if re.search(pattern, l)][:4]
    text = " · ".join(picked) if picked else "(prints no figure)"
    if res["status"] != "PASS":
        raw = res["stderr"]
        why = [raw[i + 1] for i, l in enumerate(raw[:-1]) if l.startswith("thread '") and "panicked" in l]
        text += " — **failed:** " + (why[0].strip()[:300] if why else "see the log")
    return text.replace("|", "\\|")[:1200]

now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
out = [
    "# Reliability results",
    "",
    "Generated by `deploy/local/reliability.sh` from one run of the tests that check the",
    "promises of the reliability design (`../shared/design/reliability.md`): for each promise,",
    "the tests (`package::it module::test`), their result and the figure each printed. A record",
    "of that run, not a check: rerun the script to refresh it.",
    "",
    f"- Run: {now}, commit `{os.environ['COMMIT']}`"
    + (", long variants (`WAYMARK_LONG=1`)" if os.environ.get("LONG") == "1" else ", CI variants"),
    f"- Command: `deploy/local/reliability.sh`, which ran `{os.environ['COMMAND']}`",
    "- Fault tests count Jepsen-style: lost = acknowledged by the ingest but not recorded, or",
    "  numbered for a subscriber and never delivered to it; duplicated = recorded twice, or one",
    "  event number under two webhook ids, or one webhook id with two contents; redelivered =",
    "  the same notification again (allowed at-least-once; receivers dedupe by webhook id);",
    "  recovered = notifications delivered after the fault began; unexpected = pushes not",
    "  acknowledged, a quarantine count other than the population's, numbers never given.",
    "",
]
passed = failed = missing = 0
for pid, promise in PROMISES.items():
    out += [f"## {pid}. {promise}", "", "| Test | Result | Figure |", "|---|---|---|"]
    for p, package, test, pattern in rows:
        if p != pid:
            continue
        res = results.get((package, test))
        if res is None:
            missing += 1
            out.append(f"| `{package}::it {test}` | NOT RUN | |")
            continue
        ok = res["status"] == "PASS"
        passed += ok
        failed += not ok
        out.append(f"| `{package}::it {test}` | {res['status']} ({res['secs']:.0f} s) | {figure(res, pattern)} |")
    out.append("")
out.insert(9, f"- Totals: {passed} passed, {failed} failed, {missing} not run, of {len(rows)}")
open(os.environ["PAGE"], "w").write("\n".join(out))
print(f"reliability.sh: {passed} passed, {failed} failed, {missing} not run; wrote {os.environ['PAGE']}")
PY
exit "$STATUS"
