package sana

/*
#include <stdint.h>
#include <stdlib.h>
#include <sana/sana.h>
void sanago_set_progress(sana_generate_params *p, uintptr_t handle);
*/
import "C"

import (
	"context"
	"image"
	"runtime/cgo"
	"unsafe"
)

// GenerateOptions mirror sana_generate_params. Zero values take the library's defaults
// (1024x1024, guidance 4.5, the model's solver and steps, resolution binning on, ...); set
// the Disable*/explicit fields to turn a default off.
type GenerateOptions struct {
	Prompt                 string
	NegativePrompt         string
	Width, Height          int // pixels; 0 = 1024
	NoResolutionBinning    bool
	Seed                   uint64
	Steps                  int     // 0 = the sampler's / model's
	GuidanceScale          float32 // 0 = 4.5
	PAGScale               float32
	PAGLayers              []int32
	NoComplexHumanInstruct bool
	MaxSequenceLength      int // 0 = 300
	DecodeMemoryBudget     uint64
	Sampler                *Sampler
	Progress               ProgressFunc
}

// Generate makes one image. Cancelling ctx stops the run between steps (the error is a
// Cancelled *Error wrapping ctx.Err()).
func (c *Context) Generate(ctx context.Context, m *Model, opts GenerateOptions) (*image.RGBA, error) {
	imgs, err := c.GenerateBatch(ctx, m, opts, 1)
	if err != nil {
		return nil, err
	}
	return imgs[0], nil
}

// GenerateBatch makes `batch` images for one prompt.
func (c *Context) GenerateBatch(ctx context.Context, m *Model, opts GenerateOptions, batch int) ([]*image.RGBA, error) {
	if batch < 1 {
		return nil, &Error{Status: InvalidArgument, Message: "batch must be at least 1", Call: "GenerateBatch"}
	}
	if err := cancelledBefore(ctx, "sana_generate"); err != nil {
		return nil, err
	}
	var p C.sana_generate_params
	C.sana_generate_params_init(&p)
	prompt := C.CString(opts.Prompt)
	defer C.free(unsafe.Pointer(prompt))
	p.prompt = prompt
	if opts.NegativePrompt != "" {
		neg := C.CString(opts.NegativePrompt)
		defer C.free(unsafe.Pointer(neg))
		p.negative_prompt = neg
	}
	if opts.Width > 0 {
		p.width = C.int32_t(opts.Width)
	}
	if opts.Height > 0 {
		p.height = C.int32_t(opts.Height)
	}
	if opts.NoResolutionBinning {
		p.resolution_binning = 0
	}
	if opts.NoComplexHumanInstruct {
		p.complex_human_instruction = 0
	}
	p.batch = C.int32_t(batch)
	p.seed = C.uint64_t(opts.Seed)
	p.steps = C.int32_t(opts.Steps)
	if opts.GuidanceScale != 0 {
		p.guidance_scale = C.float(opts.GuidanceScale)
	}
	p.pag_scale = C.float(opts.PAGScale)
	p.pag_layers = cInt32s(opts.PAGLayers)
	defer C.free(unsafe.Pointer(p.pag_layers))
	p.n_pag_layers = C.int32_t(len(opts.PAGLayers))
	if opts.MaxSequenceLength > 0 {
		p.max_sequence_length = C.int32_t(opts.MaxSequenceLength)
	}
	p.decode_memory_budget = C.size_t(opts.DecodeMemoryBudget)

	done, err := rlockUse(c, m)
	if err != nil {
		return nil, err
	}
	defer done()
	if opts.Sampler != nil {
		opts.Sampler.mu.RLock()
		defer opts.Sampler.mu.RUnlock()
		if opts.Sampler.ptr == nil {
			return nil, ErrClosed
		}
		p.sampler = opts.Sampler.ptr
	}
	var st *progressState
	if opts.Progress != nil {
		st = &progressState{fn: opts.Progress, cancel: c.Cancel}
		h := cgo.NewHandle(st)
		defer h.Delete()
		C.sanago_set_progress(&p, C.uintptr_t(h))
	}

	stop := c.watch(ctx)
	// The image pointers live in C memory: cgo forbids passing Go memory holding pointers.
	out := (**C.sana_image)(C.calloc(C.size_t(batch), C.size_t(unsafe.Sizeof(uintptr(0)))))
	defer C.free(unsafe.Pointer(out))
	status := C.sana_generate(c.ptr, m.ptr, &p, out)
	stop()

	images := unsafe.Slice(out, batch)
	defer func() {
		for _, im := range images {
			C.sana_image_free(im)
		}
	}()
	if st != nil && st.panic != nil {
		panic(st.panic)
	}
	if err := c.callError(ctx, status, "sana_generate"); err != nil {
		return nil, err
	}
	result := make([]*image.RGBA, batch)
	for i, im := range images {
		result[i] = toRGBA(im)
	}
	return result, nil
}

// toRGBA copies a sana_image (RGB or RGBA) into a new Go image.
func toRGBA(im *C.sana_image) *image.RGBA {
	w, h := int(C.sana_image_width(im)), int(C.sana_image_height(im))
	ch, stride := int(C.sana_image_channels(im)), int(C.sana_image_stride(im))
	src := unsafe.Slice((*byte)(unsafe.Pointer(C.sana_image_pixels(im))), stride*h)
	dst := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		row := src[y*stride:]
		out := dst.Pix[y*dst.Stride:]
		for x := 0; x < w; x++ {
			out[4*x], out[4*x+1], out[4*x+2] = row[ch*x], row[ch*x+1], row[ch*x+2]
			if ch == 4 {
				out[4*x+3] = row[ch*x+3]
			} else {
				out[4*x+3] = 255
			}
		}
	}
	return dst
}

// cInt32s copies v into C memory (nil when v is empty; C.free takes nil): a params struct
// passed to C may point only to C memory. The caller frees it with C.free.
func cInt32s(v []int32) *C.int32_t {
	if len(v) == 0 {
		return nil
	}
	p := (*C.int32_t)(C.malloc(C.size_t(4 * len(v))))
	copy(unsafe.Slice((*int32)(unsafe.Pointer(p)), len(v)), v)
	return p
}

// rlockUse read-locks a context and a model for one call, always in that order (one order for
// every call, so two calls cannot deadlock), and refuses either one closed. The caller defers
// the returned release.
func rlockUse(c *Context, m *Model) (func(), error) {
	c.mu.RLock()
	m.mu.RLock()
	if c.ptr == nil || m.ptr == nil {
		m.mu.RUnlock()
		c.mu.RUnlock()
		return nil, ErrClosed
	}
	return func() { m.mu.RUnlock(); c.mu.RUnlock() }, nil
}
