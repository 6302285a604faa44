package sana

/*
#include <stdlib.h>
#include <sana/sana.h>
*/
import "C"

import (
	"runtime"
	"sync"
	"unsafe"
)

// Component is a bit set of pipeline components.
type Component uint32

const (
	ComponentTokenizer   Component = C.SANA_COMPONENT_TOKENIZER
	ComponentTextEncoder Component = C.SANA_COMPONENT_TEXT_ENCODER
	ComponentTransformer Component = C.SANA_COMPONENT_TRANSFORMER
	ComponentVAE         Component = C.SANA_COMPONENT_VAE
	ComponentScheduler   Component = C.SANA_COMPONENT_SCHEDULER
	ComponentAll         Component = C.SANA_COMPONENT_ALL
)

// ModelKind tells SANA from SANA-Sprint pipelines.
type ModelKind int

const (
	ModelUnknown ModelKind = C.SANA_MODEL_UNKNOWN
	ModelSana    ModelKind = C.SANA_MODEL_SANA
	ModelSprint  ModelKind = C.SANA_MODEL_SPRINT
)

// ModelOptions; nil or the zero value loads every component, plain weights.
type ModelOptions struct {
	Components Component // 0 = all
	Variant    string    // "", "fp16", "bf16"
	Weights    Precision
}

// ModelInfo describes a loaded model.
type ModelInfo struct {
	Kind              ModelKind
	Components        Component
	LatentChannels    int
	VAEScaleFactor    int
	SampleSize        int
	TextHiddenSize    int
	TransformerParams int64
	TextEncoderParams int64
	VAEParams         int64
}

// Model is a loaded SANA pipeline, read-only and shareable by any contexts of its backend.
type Model struct {
	mu  sync.RWMutex
	ptr *C.sana_model
	ctx *Context // the loading context: its backend holds the weights
}

// LoadModel loads a diffusers-layout folder (a whole pipeline or one component).
func (c *Context) LoadModel(path string, opts *ModelOptions) (*Model, error) {
	var p C.sana_model_params
	C.sana_model_params_init(&p)
	if opts != nil {
		if opts.Components != 0 {
			p.components = C.uint32_t(opts.Components)
		}
		p.weights = C.sana_precision(opts.Weights)
		if opts.Variant != "" {
			v := C.CString(opts.Variant)
			defer C.free(unsafe.Pointer(v))
			p.variant = v
		}
	}
	cpath := C.CString(path)
	defer C.free(unsafe.Pointer(cpath))
	c.mu.Lock() // exclusive: registers the model with the context
	defer c.mu.Unlock()
	if c.ptr == nil || c.models == nil {
		return nil, ErrClosed
	}
	var out *C.sana_model
	if err := newError(C.sana_model_load(c.ptr, cpath, &p, &out), "sana_model_load", c.ptr); err != nil {
		return nil, err
	}
	m := &Model{ptr: out, ctx: c}
	c.models[m] = struct{}{}
	runtime.SetFinalizer(m, func(m *Model) { m.Close() })
	return m, nil
}

// Close frees the model after the generations using it return. Safe to call more than once.
func (m *Model) Close() error {
	m.ctx.mu.Lock() // before m.mu: Generate takes the context's lock first
	delete(m.ctx.models, m)
	m.ctx.mu.Unlock()
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.ptr != nil {
		C.sana_model_free(m.ptr)
		m.ptr = nil
	}
	runtime.SetFinalizer(m, nil)
	return nil
}

// Info describes the model.
func (m *Model) Info() (ModelInfo, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	if m.ptr == nil {
		return ModelInfo{}, ErrClosed
	}
	var i C.sana_model_info
	C.sana_model_info_init(&i)
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	if err := newError(C.sana_model_get_info(m.ptr, &i), "sana_model_get_info", nil); err != nil {
		return ModelInfo{}, err
	}
	return ModelInfo{
		Kind: ModelKind(i.kind), Components: Component(i.components),
		LatentChannels: int(i.latent_channels), VAEScaleFactor: int(i.vae_scale_factor),
		SampleSize: int(i.sample_size), TextHiddenSize: int(i.text_hidden_size),
		TransformerParams: int64(i.transformer_params), TextEncoderParams: int64(i.text_encoder_params),
		VAEParams: int64(i.vae_params),
	}, nil
}

// ReleaseTextEncoder frees the text encoder's weights (e.g. once the prompts are encoded, to
// make room for a large decode). Later calls that need it return an Unsupported error. It waits
// for the calls using the model to return.
func (m *Model) ReleaseTextEncoder() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.ptr == nil {
		return ErrClosed
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	return newError(C.sana_model_release_text_encoder(m.ptr), "sana_model_release_text_encoder", nil)
}
