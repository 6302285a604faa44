package sana

/*
#include <stdint.h>
#include <stdlib.h>
#include <sana/sana.h>
void sanago_set_denoise_progress(sana_denoise_params *p, uintptr_t handle);
*/
import "C"

import (
	"context"
	"image"
	"runtime"
	"runtime/cgo"
	"unsafe"
)

// The low-level stages of sana.h: Generate is EncodePrompt -> FillNoise -> Denoise ->
// DecodeLatents in one call. Running them one by one lets a program reuse one prompt's
// embeddings over many seeds, run its own loop, or start from EncodeImage's latents. Each call
// runs on the Context like Generate (one at a time per Context) and stops early, with a
// Cancelled error wrapping ctx.Err(), when ctx is cancelled.

// EncodeOptions mirror sana_encode_params; nil or the zero value takes the library's defaults.
type EncodeOptions struct {
	NoComplexHumanInstruct bool // set for the negative prompt of CFG
	MaxSequenceLength      int  // 0 = 300
	NVlabsCompat           bool // the NVlabs code's prompt handling instead of diffusers'
	ExactPadding           bool // padding rows as the reference computes them (default: zero)
}

// EncodePrompt encodes prompts to the DiT's text conditioning: embeddings [n, L, hidden] and
// mask [n, L] (1 = attend). Close both when done.
func (c *Context) EncodePrompt(ctx context.Context, m *Model, prompts []string, opts *EncodeOptions) (embeddings, mask *Tensor, err error) {
	if err := cancelledBefore(ctx, "sana_encode_prompt"); err != nil {
		return nil, nil, err
	}
	var p C.sana_encode_params
	C.sana_encode_params_init(&p)
	if opts != nil {
		if opts.NoComplexHumanInstruct {
			p.complex_human_instruction = 0
		}
		if opts.MaxSequenceLength > 0 {
			p.max_sequence_length = C.int32_t(opts.MaxSequenceLength)
		}
		if opts.NVlabsCompat {
			p.nvlabs_compat = 1
		}
		if opts.ExactPadding {
			p.exact_padding = 1
		}
	}
	// A Go slice may hold C pointers (the strings are C memory).
	texts := make([]*C.char, len(prompts)+1)
	for i, s := range prompts {
		texts[i] = C.CString(s)
		defer C.free(unsafe.Pointer(texts[i]))
	}
	done, err := rlockUse(c, m)
	if err != nil {
		return nil, nil, err
	}
	defer done()
	var e, k *C.sana_tensor
	stop := c.watch(ctx)
	status := C.sana_encode_prompt(c.ptr, m.ptr, &texts[0], C.int32_t(len(prompts)), &p, &e, &k)
	stop()
	embeddings, mask = ownTensor(e), ownTensor(k)
	if err := c.callError(ctx, status, "sana_encode_prompt"); err != nil {
		embeddings.Close()
		mask.Close()
		return nil, nil, err
	}
	return embeddings, mask, nil
}

// DenoiseOptions mirror sana_denoise_params. Embeddings (and Mask) come from EncodePrompt;
// CFG runs when UncondEmbeddings are set and the guidance scale is above 1.
type DenoiseOptions struct {
	Embeddings, Mask             *Tensor  // [B (or 1), L, hidden], [B (or 1), L]
	UncondEmbeddings, UncondMask *Tensor  // nil = no CFG
	Sampler                      *Sampler // nil = the model's default solver and steps
	GuidanceScale                float32  // 0 = 4.5
	PAGScale                     float32
	PAGLayers                    []int32
	FirstStep                    int    // img2img: start at this step index
	Seed                         uint64 // SCM (Sprint) only: the initial noise's seed
	Progress                     ProgressFunc
}

// Denoise runs the sampler's steps on latents [B, C, H, W] (the initial noise, already scaled
// by the sampler's initial sigma) in place.
func (c *Context) Denoise(ctx context.Context, m *Model, latents *Tensor, opts DenoiseOptions) error {
	if err := cancelledBefore(ctx, "sana_denoise"); err != nil {
		return err
	}
	var p C.sana_denoise_params
	C.sana_denoise_params_init(&p)
	if opts.GuidanceScale != 0 {
		p.guidance_scale = C.float(opts.GuidanceScale)
	}
	p.pag_scale = C.float(opts.PAGScale)
	p.pag_layers = cInt32s(opts.PAGLayers)
	defer C.free(unsafe.Pointer(p.pag_layers))
	p.n_pag_layers = C.int32_t(len(opts.PAGLayers))
	p.first_step = C.int32_t(opts.FirstStep)
	p.seed = C.uint64_t(opts.Seed)

	done, err := rlockUse(c, m)
	if err != nil {
		return err
	}
	defer done()
	if opts.Sampler != nil {
		opts.Sampler.mu.RLock()
		defer opts.Sampler.mu.RUnlock()
		if opts.Sampler.ptr == nil {
			return ErrClosed
		}
		p.sampler = opts.Sampler.ptr
	}
	unlock, err := rlockTensors(latents, opts.Embeddings, opts.Mask, opts.UncondEmbeddings, opts.UncondMask)
	if err != nil {
		return err
	}
	defer unlock()
	p.embeddings, p.mask = opts.Embeddings.cptr(), opts.Mask.cptr()
	p.uncond_embeddings, p.uncond_mask = opts.UncondEmbeddings.cptr(), opts.UncondMask.cptr()
	var st *progressState
	if opts.Progress != nil {
		st = &progressState{fn: opts.Progress, cancel: c.Cancel}
		h := cgo.NewHandle(st)
		defer h.Delete()
		C.sanago_set_denoise_progress(&p, C.uintptr_t(h))
	}
	stop := c.watch(ctx)
	status := C.sana_denoise(c.ptr, m.ptr, &p, latents.cptr())
	stop()
	if st != nil && st.panic != nil {
		panic(st.panic)
	}
	return c.callError(ctx, status, "sana_denoise")
}

// DecodeMode picks how DecodeLatents runs the VAE decoder.
type DecodeMode int

const (
	DecodeFull  DecodeMode = C.SANA_DECODE_FULL  // whole latent (exact bands under a budget)
	DecodeTiled DecodeMode = C.SANA_DECODE_TILED // diffusers' enable_tiling (not exact)
)

// DecodeOptions mirror sana_decode_params; nil or zero values take the library's defaults.
type DecodeOptions struct {
	Mode                 DecodeMode
	MemoryBudget         uint64 // bytes of all the decoder's buffers; 0 = unlimited
	TileSize, TileStride int    // DecodeTiled: 0 = 512, 448
}

// DecodeLatents decodes latents [B, C, h, w] (as Denoise leaves them) to B images of
// (h*f) x (w*f) pixels.
func (c *Context) DecodeLatents(ctx context.Context, m *Model, latents *Tensor, opts *DecodeOptions) ([]*image.RGBA, error) {
	if err := cancelledBefore(ctx, "sana_decode_latents"); err != nil {
		return nil, err
	}
	var p C.sana_decode_params
	C.sana_decode_params_init(&p)
	if opts != nil {
		p.mode = C.sana_decode_mode(opts.Mode)
		p.memory_budget = C.size_t(opts.MemoryBudget)
		if opts.TileSize > 0 {
			p.tile_size = C.int32_t(opts.TileSize)
		}
		if opts.TileStride > 0 {
			p.tile_stride = C.int32_t(opts.TileStride)
		}
	}
	done, err := rlockUse(c, m)
	if err != nil {
		return nil, err
	}
	defer done()
	unlock, err := rlockTensors(latents)
	if err != nil {
		return nil, err
	}
	defer unlock()
	batch := int(C.sana_tensor_dim(latents.cptr(), 0))
	if batch < 1 {
		batch = 1
	}
	// The image pointers live in C memory: cgo forbids passing Go memory holding Go pointers.
	out := (**C.sana_image)(C.calloc(C.size_t(batch), C.size_t(unsafe.Sizeof(uintptr(0)))))
	defer C.free(unsafe.Pointer(out))
	stop := c.watch(ctx)
	status := C.sana_decode_latents(c.ptr, m.ptr, latents.cptr(), &p, out)
	stop()
	images := unsafe.Slice(out, batch)
	defer func() {
		for _, im := range images {
			C.sana_image_free(im)
		}
	}()
	if err := c.callError(ctx, status, "sana_decode_latents"); err != nil {
		return nil, err
	}
	result := make([]*image.RGBA, batch)
	for i, im := range images {
		result[i] = toRGBA(im)
	}
	return result, nil
}

// EncodeImage encodes an image (sides multiples of the VAE's factor) to latents
// [1, C, H/f, W/f], times the VAE's scaling factor: what DecodeLatents takes back.
func (c *Context) EncodeImage(ctx context.Context, m *Model, img image.Image) (*Tensor, error) {
	if err := cancelledBefore(ctx, "sana_encode_image"); err != nil {
		return nil, err
	}
	done, err := rlockUse(c, m)
	if err != nil {
		return nil, err
	}
	defer done()
	im, err := func() (*C.sana_image, error) {
		runtime.LockOSThread() // fromImage's error text is the thread's
		defer runtime.UnlockOSThread()
		return fromImage(img)
	}()
	if err != nil {
		return nil, err
	}
	defer C.sana_image_free(im)
	var out *C.sana_tensor
	stop := c.watch(ctx)
	status := C.sana_encode_image(c.ptr, m.ptr, im, &out)
	stop()
	latents := ownTensor(out)
	if err := c.callError(ctx, status, "sana_encode_image"); err != nil {
		latents.Close()
		return nil, err
	}
	return latents, nil
}
