// gonow: Go's time.Now() throughput, for timewarp's benchmark harness
// (bench/run, scenario 3).  Counts calls in a window of TSC ticks (the TSC is
// untouched by any virtual clock; its frequency comes from the host), and
// says whether time.Now() tells the time that libc's clock_gettime tells in
// the same process: Go's runtime reads the vDSO itself, so a preload library
// alone does not reach it.  Built with cgo, so dynamically linked.
//
//	gonow -tsc-hz HZ -window SECONDS
//
// prints "agree 0|1 DIFF_NS" and "gonow CALLS_PER_SECOND".
package main

/*
#include <stdint.h>
#include <time.h>

static uint64_t tsc(void)
{
	uint32_t lo, hi;
	__asm__ volatile("lfence\n\trdtsc\n\tlfence" : "=a"(lo), "=d"(hi) : : "memory");
	return (uint64_t)hi << 32 | lo;
}

static long long libc_realtime_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}
*/
import "C"

import (
	"flag"
	"fmt"
	"os"
	"time"
)

var sink int64

// window counts time.Now() calls until budget ticks have passed, reading
// the TSC (a cgo call) once every 1024 calls.
func window(budget uint64) (calls, ticks uint64) {
	var acc int64
	t0 := uint64(C.tsc())
	end := t0 + budget
	t := t0
	for t < end {
		for i := 0; i < 1024; i++ {
			acc += int64(time.Now().Nanosecond())
		}
		calls += 1024
		t = uint64(C.tsc())
	}
	sink = acc
	return calls, t - t0
}

func main() {
	hz := flag.Float64("tsc-hz", 0, "TSC ticks per second, measured on the host")
	win := flag.Float64("window", 0.25, "seconds per window")
	flag.Parse()
	if *hz <= 0 {
		fmt.Fprintln(os.Stderr, "gonow: needs -tsc-hz")
		os.Exit(2)
	}
	a := int64(C.libc_realtime_ns())
	b := time.Now().UnixNano()
	c := int64(C.libc_realtime_ns())
	agree := 0
	if b >= a-50000000 && b <= c+50000000 {
		agree = 1
	}
	fmt.Printf("agree REALTIME %d %d\n", agree, b-a)

	budget := uint64(*win * *hz)
	window(budget / 10) // warm up
	calls, ticks := window(budget)
	fmt.Printf("gonow %.0f\n", float64(calls)*(*hz)/float64(ticks))
}
