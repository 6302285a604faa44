package sana

/*
#include <stdlib.h>
#include <sana/sana.h>
*/
import "C"

import (
	"runtime"
	"sync"
)

// Solver picks the sampler's algorithm.
type Solver int

const (
	SolverDefault   Solver = C.SANA_SOLVER_DEFAULT
	SolverFlowDPM   Solver = C.SANA_SOLVER_FLOW_DPM
	SolverFlowEuler Solver = C.SANA_SOLVER_FLOW_EULER
	SolverSCM       Solver = C.SANA_SOLVER_SCM
)

// SamplerOptions; zero values take the model's scheduler config.
type SamplerOptions struct {
	Solver                Solver
	Steps                 int
	FlowShift             float32
	MaxTimesteps          float32
	IntermediateTimesteps float32
}

// Sampler is a solver and schedule for one model; pass it in GenerateOptions.Sampler.
type Sampler struct {
	mu    sync.RWMutex
	ptr   *C.sana_sampler
	model *Model
}

// NewSampler makes a sampler for m.
func (m *Model) NewSampler(opts SamplerOptions) (*Sampler, error) {
	var p C.sana_sampler_params
	C.sana_sampler_params_init(&p)
	p.solver = C.sana_solver(opts.Solver)
	p.steps = C.int32_t(opts.Steps)
	p.flow_shift = C.float(opts.FlowShift)
	p.max_timesteps = C.float(opts.MaxTimesteps)
	p.intermediate_timesteps = C.float(opts.IntermediateTimesteps)
	m.mu.RLock()
	defer m.mu.RUnlock()
	if m.ptr == nil {
		return nil, ErrClosed
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var out *C.sana_sampler
	if err := newError(C.sana_sampler_create(m.ptr, &p, &out), "sana_sampler_create", nil); err != nil {
		return nil, err
	}
	s := &Sampler{ptr: out, model: m}
	runtime.SetFinalizer(s, func(s *Sampler) { s.Close() })
	return s, nil
}

// Close frees the sampler. Close samplers before their model.
func (s *Sampler) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ptr != nil {
		C.sana_sampler_free(s.ptr)
		s.ptr = nil
	}
	runtime.SetFinalizer(s, nil)
	return nil
}

// Timesteps are the model timesteps the sampler visits.
func (s *Sampler) Timesteps() ([]float32, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.ptr == nil {
		return nil, ErrClosed
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var n C.size_t
	if err := newError(C.sana_sampler_timesteps(s.ptr, nil, 0, &n), "sana_sampler_timesteps", nil); err != nil {
		return nil, err
	}
	if n == 0 {
		return nil, nil
	}
	buf := make([]float32, int(n))
	if err := newError(C.sana_sampler_timesteps(s.ptr, (*C.float)(&buf[0]), n, &n), "sana_sampler_timesteps", nil); err != nil {
		return nil, err
	}
	return buf[:int(n)], nil
}
