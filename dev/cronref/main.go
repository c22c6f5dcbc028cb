// Command cronref answers questions about cron schedules the way a Kubernetes
// CronJob does, so crestline's own cron code can be checked against the real thing.
//
// It reads JSON lines on stdin and writes one JSON line per request on stdout:
//
//	{"spec": "30 2 * * *", "tz": "America/New_York", "after": "2026-03-08T00:00:00Z", "n": 20}
//	  -> {"times": ["2026-03-09T06:30:00Z", ...]}  (robfig/cron v3 Next, iterated n times)
//	{"validate": "61 * * * *"}
//	  -> {"error": "..."}  or  {}  (what the CronJob API validation says of spec.schedule)
//
// "times" stops early when robfig's Next returns the zero time (no match within its
// five-year search); "exhausted" is then true. The zone is applied the way the CronJob
// controller applies spec.timeZone: by prefixing the schedule with "TZ=<zone> ".
package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/robfig/cron/v3"
)

type request struct {
	Spec     string  `json:"spec"`
	TZ       string  `json:"tz"`
	After    string  `json:"after"`
	N        int     `json:"n"`
	Validate *string `json:"validate"`
}

type response struct {
	Times     []string `json:"times,omitempty"`
	Exhausted bool     `json:"exhausted,omitempty"`
	Error     string   `json:"error,omitempty"`
}

// validate mirrors kubernetes pkg/apis/batch/validation validateScheduleFormat for a
// new object (no old spec, so TZ in the schedule is never allowed).
func validate(schedule string) string {
	var problems []string
	if len(schedule) == 0 {
		return "Required value"
	}
	if _, err := parse(schedule); err != nil {
		problems = append(problems, err.Error())
	}
	if strings.Contains(schedule, "TZ") {
		problems = append(problems, "cannot use TZ or CRON_TZ in schedule, use timeZone field instead")
	}
	return strings.Join(problems, "; ")
}

// parse is the CronJob controller's parse: ParseStandard, with a panic turned into an error.
func parse(spec string) (sched cron.Schedule, err error) {
	defer func() {
		if r := recover(); r != nil {
			sched, err = nil, fmt.Errorf("invalid schedule format: %v", r)
		}
	}()
	return cron.ParseStandard(spec)
}

func answer(req request) response {
	if req.Validate != nil {
		return response{Error: validate(*req.Validate)}
	}
	after, err := time.Parse(time.RFC3339Nano, req.After)
	if err != nil {
		return response{Error: err.Error()}
	}
	sched, err := parse("TZ=" + req.TZ + " " + req.Spec)
	if err != nil {
		return response{Error: err.Error()}
	}
	out := response{Times: []string{}}
	t := after
	for i := 0; i < req.N; i++ {
		t = sched.Next(t)
		if t.IsZero() {
			out.Exhausted = true
			break
		}
		out.Times = append(out.Times, t.UTC().Format(time.RFC3339))
	}
	return out
}

func main() {
	in := bufio.NewScanner(os.Stdin)
	in.Buffer(make([]byte, 1<<20), 1<<20)
	out := bufio.NewWriter(os.Stdout)
	defer out.Flush()
	enc := json.NewEncoder(out)
	for in.Scan() {
		var req request
		var resp response
		if err := json.Unmarshal(in.Bytes(), &req); err != nil {
			resp = response{Error: "bad request: " + err.Error()}
		} else {
			resp = answer(req)
		}
		if err := enc.Encode(resp); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		// Answer each line as it comes, so a caller may hold one process open.
		if err := out.Flush(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
	if err := in.Err(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
}
