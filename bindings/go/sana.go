// Package sana runs NVIDIA SANA text-to-image models through libsana (cgo, pkg-config "sana").
//
//	ctx, _ := sana.NewContext(&sana.ContextOptions{Backend: sana.BackendCPU})
//	defer ctx.Close()
//	model, _ := ctx.LoadModel("Sana_600M_1024px_diffusers", nil)
//	img, err := ctx.Generate(context.Background(), model, sana.GenerateOptions{Prompt: "a fox"})
//
// Build: libsana's sana.pc must be on PKG_CONFIG_PATH; at run time libsana.so must be on the
// loader's path (LD_LIBRARY_PATH, or an installed prefix).
//
// Threads: a Model is read-only and may be shared; a Context runs one call at a time (calls on
// one Context from several goroutines wait for each other); use one Context per worker to run
// generations in parallel. Cancel a generation through its context.Context.
package sana

/*
#cgo pkg-config: sana
#include <stdlib.h>
#include <sana/sana.h>
*/
import "C"

import (
	"fmt"
)

// Version is the version of the libsana actually loaded, e.g. "0.1.0".
func Version() string { return C.GoString(C.sana_version()) }

// VersionNumber is major*10000 + minor*100 + patch of the loaded library.
func VersionNumber() uint32 { return uint32(C.sana_version_number()) }

// HeaderVersionNumber is the version of the header this package was compiled against.
const HeaderVersionNumber = uint32(C.SANA_VERSION_NUMBER)

// Status is a sana_status code.
type Status int

const (
	OK              Status = C.SANA_OK
	InvalidArgument Status = C.SANA_ERR_INVALID_ARGUMENT
	NotFound        Status = C.SANA_ERR_NOT_FOUND
	IOError         Status = C.SANA_ERR_IO
	FormatError     Status = C.SANA_ERR_FORMAT
	Unsupported     Status = C.SANA_ERR_UNSUPPORTED
	OutOfMemory     Status = C.SANA_ERR_OUT_OF_MEMORY
	Cancelled       Status = C.SANA_ERR_CANCELLED
	BackendError    Status = C.SANA_ERR_BACKEND
	Internal        Status = C.SANA_ERR_INTERNAL
)

// String names the code, e.g. "SANA_ERR_FORMAT: malformed file".
func (s Status) String() string { return C.GoString(C.sana_status_string(C.sana_status(s))) }

// Error is a failed libsana call: its status and the library's message (which file, which
// tensor, which argument). A generation stopped by its context.Context also wraps ctx.Err(), so
// errors.Is(err, context.Canceled) holds.
type Error struct {
	Status  Status
	Message string
	Call    string
	cause   error
}

func (e *Error) Error() string {
	return fmt.Sprintf("%s: %s: %s", e.Call, e.Status.String(), e.Message)
}

// Unwrap gives the context error that caused a cancellation, if any.
func (e *Error) Unwrap() error { return e.cause }

// Is matches another *Error by status: errors.Is(err, &sana.Error{Status: sana.Cancelled}).
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	return ok && t.Status == e.Status && t.Message == "" && t.Call == ""
}

// newError reads the error text: from the context when given, else the thread's.
func newError(status C.sana_status, call string, ctx *C.sana_context) error {
	if status == C.SANA_OK {
		return nil
	}
	var msg string
	if ctx != nil {
		msg = C.GoString(C.sana_context_last_error(ctx))
	} else {
		msg = C.GoString(C.sana_last_error())
	}
	if msg == "" {
		msg = Status(status).String()
	}
	return &Error{Status: Status(status), Message: msg, Call: call}
}
