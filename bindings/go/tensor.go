package sana

/*
#include <sana/sana.h>
*/
import "C"

import (
	"fmt"
	"runtime"
	"sync"
	"unsafe"
)

// Noise is the kind of seeded noise FillNoise draws.
type Noise int

// NoiseTorchCPU is bit-identical to torch.randn with a CPU torch.Generator.
const NoiseTorchCPU Noise = C.SANA_NOISE_TORCH_CPU

// Tensor is a float32 array of 1 to 4 dimensions, row-major, owned by libsana: what the
// low-level stages (EncodePrompt, Denoise, DecodeLatents, EncodeImage) pass around. Close it
// when done (a finalizer frees it otherwise). Calls on a closed Tensor return ErrClosed.
type Tensor struct {
	mu  sync.RWMutex // calls hold it shared; Close holds it exclusively
	ptr *C.sana_tensor
}

// NewTensor makes a tensor of `shape` holding a copy of data (row-major, len(data) must be the
// product of shape), or zeros when data is nil.
func NewTensor(shape []int64, data []float32) (*Tensor, error) {
	if data != nil {
		// Checked here because the library cannot know how long the slice is; a shape the
		// library refuses (a dimension <= 0, too many values) is left to its message.
		n, valid := int64(1), true
		for _, d := range shape {
			if d <= 0 || n > (1<<40)/d {
				valid = false
				break
			}
			n *= d
		}
		if valid && int64(len(data)) != n {
			return nil, &Error{Status: InvalidArgument, Call: "sana_tensor_create",
				Message: fmt.Sprintf("data holds %d floats; shape %v needs %d", len(data), shape, n)}
		}
	}
	var dims *C.int64_t
	if len(shape) > 0 {
		dims = (*C.int64_t)(unsafe.Pointer(&shape[0]))
	}
	var values *C.float
	if len(data) > 0 {
		values = (*C.float)(unsafe.Pointer(&data[0]))
	}
	runtime.LockOSThread() // sana_last_error() is per OS thread
	defer runtime.UnlockOSThread()
	var out *C.sana_tensor
	if err := newError(C.sana_tensor_create(C.int32_t(len(shape)), dims, values, &out), "sana_tensor_create", nil); err != nil {
		return nil, err
	}
	return ownTensor(out), nil
}

// ownTensor wraps a tensor the library made for us (nil for NULL).
func ownTensor(ptr *C.sana_tensor) *Tensor {
	if ptr == nil {
		return nil
	}
	t := &Tensor{ptr: ptr}
	runtime.SetFinalizer(t, func(t *Tensor) { t.Close() })
	return t
}

// Close frees the tensor. Safe to call more than once.
func (t *Tensor) Close() error {
	if t == nil {
		return nil
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.ptr != nil {
		C.sana_tensor_free(t.ptr)
		t.ptr = nil
	}
	runtime.SetFinalizer(t, nil)
	return nil
}

// Shape is the size of each dimension; nil once closed.
func (t *Tensor) Shape() []int64 {
	t.mu.RLock()
	defer t.mu.RUnlock()
	if t.ptr == nil {
		return nil
	}
	shape := make([]int64, int(C.sana_tensor_ndim(t.ptr)))
	for i := range shape {
		shape[i] = int64(C.sana_tensor_dim(t.ptr, C.int32_t(i)))
	}
	return shape
}

// Numel is the number of values; 0 once closed.
func (t *Tensor) Numel() int64 {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return int64(C.sana_tensor_numel(t.ptr)) // sana_tensor_numel(NULL) is 0
}

// Data is a copy of the values, row-major.
func (t *Tensor) Data() ([]float32, error) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	if t.ptr == nil {
		return nil, ErrClosed
	}
	out := make([]float32, int(C.sana_tensor_numel(t.ptr)))
	if len(out) == 0 {
		return out, nil
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if err := newError(C.sana_tensor_read(t.ptr, (*C.float)(unsafe.Pointer(&out[0])), C.size_t(len(out))), "sana_tensor_read", nil); err != nil {
		return nil, err
	}
	return out, nil
}

// FillNoise fills the tensor [B, C, H, W] in place with the seeded noise sana_generate draws
// (kind NoiseTorchCPU: torch.randn with a CPU generator).
func (t *Tensor) FillNoise(kind Noise, seed uint64) error {
	t.mu.RLock()
	defer t.mu.RUnlock()
	if t.ptr == nil {
		return ErrClosed
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	return newError(C.sana_noise_fill(C.sana_noise(kind), C.uint64_t(seed), t.ptr), "sana_noise_fill", nil)
}

// rlockTensors holds the tensors (nil ones skipped, each once) shared for a call; unlock
// releases them. ErrClosed, with nothing held, when one is closed.
func rlockTensors(ts ...*Tensor) (unlock func(), err error) {
	var held []*Tensor
	unlock = func() {
		for _, t := range held {
			t.mu.RUnlock()
		}
	}
	seen := map[*Tensor]bool{}
	for _, t := range ts {
		if t == nil || seen[t] {
			continue // a second RLock by one goroutine could deadlock against a waiting Close
		}
		seen[t] = true
		t.mu.RLock()
		held = append(held, t)
		if t.ptr == nil {
			unlock()
			return nil, ErrClosed
		}
	}
	return unlock, nil
}

// cptr is the tensor's handle, or NULL for a nil *Tensor (held by rlockTensors).
func (t *Tensor) cptr() *C.sana_tensor {
	if t == nil {
		return nil
	}
	return t.ptr
}
