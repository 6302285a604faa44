package sana

/*
#include <stdlib.h>
#include <sana/sana.h>
void sanago_set_log(sana_context_params *p, uintptr_t handle);
*/
import "C"

import (
	"context"
	"errors"
	"runtime"
	"runtime/cgo"
	"sync"
)

// Backend selects where a Context runs.
type Backend int

const (
	BackendAuto Backend = C.SANA_BACKEND_AUTO
	BackendCPU  Backend = C.SANA_BACKEND_CPU
	BackendCUDA Backend = C.SANA_BACKEND_CUDA
)

// Precision is the compute precision (the CPU always computes in fp32).
type Precision int

const (
	PrecisionAuto Precision = C.SANA_PRECISION_AUTO
	PrecisionF32  Precision = C.SANA_PRECISION_F32
	PrecisionF16  Precision = C.SANA_PRECISION_F16
	PrecisionBF16 Precision = C.SANA_PRECISION_BF16
)

// ContextOptions; the zero value takes the library's defaults.
type ContextOptions struct {
	Backend   Backend
	Device    int
	Threads   int // CPU threads; 0 = one per core
	Precision Precision
	Log       LogFunc  // nil = the library's default sink (warnings and errors to stderr)
	LogLevel  LogLevel // messages above it are dropped; 0 (LogError) is raised to LogWarn
}

// ErrClosed is returned by calls on a closed Context or Model.
var ErrClosed = errors.New("sana: use of a closed object")

// Context is where work runs. Close it when done (models loaded through it are closed too).
type Context struct {
	mu       sync.RWMutex // calls hold it shared; Close holds it exclusively
	cancelMu sync.Mutex   // guards ptr for Cancel, which must never wait for a running call
	ptr      *C.sana_context
	models   map[*Model]struct{}
	logh     cgo.Handle // keeps the log callback alive as long as the context
}

// NewContext creates a context; opts may be nil.
func NewContext(opts *ContextOptions) (*Context, error) {
	var p C.sana_context_params
	C.sana_context_params_init(&p)
	if opts != nil {
		p.backend = C.sana_backend(opts.Backend)
		p.device = C.int32_t(opts.Device)
		p.n_threads = C.int32_t(opts.Threads)
		p.precision = C.sana_precision(opts.Precision)
		if opts.LogLevel > LogError {
			p.log_level = C.sana_log_level(opts.LogLevel)
		}
	}
	var logh cgo.Handle
	if opts != nil && opts.Log != nil {
		logh = cgo.NewHandle(opts.Log)
		C.sanago_set_log(&p, C.uintptr_t(logh))
	}
	// sana_last_error() is per OS thread: read it on the thread that made the call.
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var out *C.sana_context
	if err := newError(C.sana_context_create(&p, &out), "sana_context_create", nil); err != nil {
		if logh != 0 {
			logh.Delete()
		}
		return nil, err
	}
	c := &Context{ptr: out, models: map[*Model]struct{}{}, logh: logh}
	runtime.SetFinalizer(c, func(c *Context) { c.Close() })
	return c, nil
}

// Close frees the context after the call running on it (if any) returns, and closes the
// models loaded through it. Safe to call more than once.
func (c *Context) Close() error {
	c.mu.Lock()
	models := c.models
	c.models = nil
	c.mu.Unlock()
	for m := range models {
		m.Close()
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.cancelMu.Lock()
	defer c.cancelMu.Unlock()
	if c.ptr != nil {
		C.sana_context_free(c.ptr)
		c.ptr = nil
		if c.logh != 0 {
			c.logh.Delete()
			c.logh = 0
		}
	}
	runtime.SetFinalizer(c, nil)
	return nil
}

// Backend is the backend the context runs on (CPU or CUDA, never Auto).
func (c *Context) Backend() (Backend, error) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.ptr == nil {
		return 0, ErrClosed
	}
	return Backend(C.sana_context_backend(c.ptr)), nil
}

// Cancel asks the call now running on the context to stop; it returns a Cancelled error.
// Safe from any goroutine at any time.
func (c *Context) Cancel() {
	c.cancelMu.Lock()
	defer c.cancelMu.Unlock()
	if c.ptr != nil {
		C.sana_context_cancel(c.ptr)
	}
}

// watch forwards ctx's cancellation to the call about to run on c. Call the returned stop once
// the C call has returned: its goroutine has then exited, so it never touches a freed context.
func (c *Context) watch(ctx context.Context) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		select {
		case <-ctx.Done():
			c.Cancel()
		case <-done:
		}
	}()
	return func() {
		close(done)
		wg.Wait()
	}
}

// cancelledBefore is the Cancelled error of a call whose ctx is already done, else nil.
func cancelledBefore(ctx context.Context, call string) error {
	if err := ctx.Err(); err != nil {
		return &Error{Status: Cancelled, Message: err.Error(), Call: call, cause: err}
	}
	return nil
}

// callError is the error of a call made on c (nil for SANA_OK); a cancellation that ctx caused
// wraps ctx.Err().
func (c *Context) callError(ctx context.Context, status C.sana_status, call string) error {
	err := newError(status, call, c.ptr)
	if e, ok := err.(*Error); ok && e.Status == Cancelled && ctx.Err() != nil {
		e.cause = ctx.Err()
	}
	return err
}
