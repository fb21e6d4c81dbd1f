// Command bbsctl is the command line of an openbbs server, built on the Go SDK (packages
// client and events): it lists and changes desired and actual LRPs, tasks, cells and
// domains, follows the event streams, and plays a simulated fleet against the server
// (package internal/simulate).
//
// Usage:
//
//	bbsctl [--url URL] [--token TOKEN] [--ca-cert FILE] [--client-cert FILE --client-key FILE]
//	       [--output text|json] COMMAND [flags]
//
// The global flags may come before or after the command; their defaults come from
// $BBS_URL (else http://127.0.0.1:8889), $BBS_TOKEN, $BBS_CA_CERT, $BBS_CLIENT_CERT and
// $BBS_CLIENT_KEY. `bbsctl help` lists the commands: reads (domains, cells, desired-lrps,
// desired-lrp, actual-lrps, tasks, task), changes of every route of the API (desire-lrp,
// update-lrp, remove-lrp, claim, start, crash, fail, remove-actual-lrp, retire, evacuate,
// remove-evacuating, desire-task, start-task, complete-task, cancel-task, reject-task,
// resolving-task, delete-task, upsert-cell, remove-cell, upsert-domain), events,
// simulate and version.
//
// Output: with --output text (the default) a table or one line per item, coloured only
// when stdout is a terminal and $NO_COLOR is unset; with --output json one JSON object a
// line per item of a list (the item's wire JSON), one object for a single item or the
// answer of a change. `events --output json` prints {"id","type","key","data"} a line,
// data being the event's payload exactly as the server sent it.
//
// Errors: one line on stderr, "bbsctl: TYPE: MESSAGE" for an error of the server, or
// "bbsctl: cannot reach the server at URL: REASON", and exit status 1; bad flags or
// arguments print the usage and exit 2.
//
// Goroutines: the command runs in main's goroutine; SIGINT and SIGTERM cancel its
// context, which ends events (exit 0) and simulate (with its summary). simulate starts
// the goroutines of its fleet through internal/simulate, which stops them all before it
// returns.
package main
