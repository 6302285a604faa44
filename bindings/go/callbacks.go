package sana

/*
#include <stdint.h>
*/
import "C"

import "runtime/cgo"

// ProgressFunc is called after every denoising step (step counts from 1), on the generating
// goroutine's thread. Return false to cancel the generation.
type ProgressFunc func(step, steps int) bool

// LogFunc receives the library's log messages for one context.
type LogFunc func(level LogLevel, message string)

// LogLevel of a log message.
type LogLevel int

const (
	LogError LogLevel = 0
	LogWarn  LogLevel = 1
	LogInfo  LogLevel = 2
	LogDebug LogLevel = 3
)

type progressState struct {
	fn     ProgressFunc
	cancel func()
	panic  interface{}
}

//export sanaGoProgress
func sanaGoProgress(step, steps C.int32_t, handle C.uintptr_t) {
	st := cgo.Handle(handle).Value().(*progressState)
	if st.panic != nil {
		return
	}
	defer func() {
		// A panic must not unwind through C: keep it, cancel, re-panic after the C call.
		if r := recover(); r != nil {
			st.panic = r
			st.cancel()
		}
	}()
	if !st.fn(int(step), int(steps)) {
		st.cancel()
	}
}

//export sanaGoLog
func sanaGoLog(level C.int, message *C.char, handle C.uintptr_t) {
	fn := cgo.Handle(handle).Value().(LogFunc)
	defer func() { _ = recover() }()
	fn(LogLevel(level), C.GoString(message))
}
