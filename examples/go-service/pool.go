package main

import (
	"context"
	"errors"
	"fmt"
	"image"
	"sync"
	"sync/atomic"

	"libsana.dev/sana"
)

// pool owns the libsana contexts: one worker goroutine per context takes jobs from a bounded
// queue, so at most len(contexts) generations run at once and the rest wait in line.
type pool struct {
	model    *sana.Model   // the first context's; all workers' when shared
	models   []*sana.Model // the model each worker uses
	contexts []*sana.Context
	jobs     chan *job
	wg       sync.WaitGroup
	queued   int64 // jobs waiting
	running  int64 // jobs generating
	served   int64
}

type job struct {
	ctx  context.Context
	opts sana.GenerateOptions
	done chan result // buffered: the worker never blocks on a client that left
}

type result struct {
	img *image.RGBA
	err error
}

// ErrBusy: the queue is full.
var ErrBusy = errors.New("the queue is full; try again later")

// shareModel: load the model once for all contexts (a model is read-only and may be shared by
// contexts running in parallel) instead of once per context.
func newPool(modelPath string, n, queue int, opts *sana.ContextOptions, shareModel bool) (*pool, error) {
	if n < 1 {
		return nil, fmt.Errorf("need at least one context")
	}
	p := &pool{jobs: make(chan *job, queue)}
	for i := 0; i < n; i++ {
		c, err := sana.NewContext(opts)
		if err != nil {
			p.Close()
			return nil, err
		}
		p.contexts = append(p.contexts, c)
	}
	for i, c := range p.contexts {
		if shareModel && i > 0 {
			p.models = append(p.models, p.model)
			continue
		}
		m, err := c.LoadModel(modelPath, nil)
		if err != nil {
			p.Close()
			return nil, err
		}
		if i == 0 {
			p.model = m
		}
		p.models = append(p.models, m)
	}
	for i, c := range p.contexts {
		p.wg.Add(1)
		go p.worker(c, p.models[i])
	}
	return p, nil
}

func (p *pool) worker(c *sana.Context, m *sana.Model) {
	defer p.wg.Done()
	for j := range p.jobs {
		atomic.AddInt64(&p.queued, -1)
		if err := j.ctx.Err(); err != nil { // the client left while queued
			j.done <- result{err: err}
			continue
		}
		atomic.AddInt64(&p.running, 1)
		img, err := c.Generate(j.ctx, m, j.opts)
		atomic.AddInt64(&p.running, -1)
		atomic.AddInt64(&p.served, 1)
		j.done <- result{img, err}
	}
}

// Generate queues a request and waits for its image (or for ctx to end).
func (p *pool) Generate(ctx context.Context, opts sana.GenerateOptions) (*image.RGBA, error) {
	j := &job{ctx: ctx, opts: opts, done: make(chan result, 1)}
	atomic.AddInt64(&p.queued, 1)
	select {
	case p.jobs <- j:
	default:
		atomic.AddInt64(&p.queued, -1)
		return nil, ErrBusy
	}
	select {
	case r := <-j.done:
		return r.img, r.err
	case <-ctx.Done():
		return nil, ctx.Err() // the worker sees ctx too and stops or skips the job
	}
}

func (p *pool) Close() {
	if p.jobs != nil {
		close(p.jobs)
		p.wg.Wait()
		p.jobs = nil
	}
	for _, c := range p.contexts {
		c.Close() // also closes the models loaded through it
	}
}
