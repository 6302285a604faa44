// sana-service: an HTTP text-to-image service on libsana.
//
//	sana-service -model ./Sana_600M_512px_diffusers -addr 127.0.0.1:8080 -contexts 2
//
//	POST /v1/images/generations  {"prompt": "a fox", "width": 512, "height": 512, "seed": 1}
//	                             -> 200 image/png, or a JSON error {"error": {...}}
//	GET  /                       a page to type a prompt and see the image
//	GET  /healthz                JSON: model, contexts, queue
//
// Each of the -contexts workers owns one libsana context
// and runs one generation at a time; requests wait in a bounded queue (-queue) and get 503 when
// it is full. A client that disconnects cancels its request, queued or running.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"libsana.dev/sana"
)

type config struct {
	addr, model, portFile, backend string
	contexts, threads, queue       int
	width, height, steps           int
	shareModel                     bool
}

func main() {
	var cfg config
	flag.StringVar(&cfg.addr, "addr", "127.0.0.1:8080", "listen address (port 0 picks a free one)")
	flag.StringVar(&cfg.model, "model", "", "SANA pipeline folder (diffusers layout)")
	flag.StringVar(&cfg.portFile, "port-file", "", "write the listening port here once ready")
	flag.StringVar(&cfg.backend, "backend", "auto", "auto, cpu or cuda")
	flag.IntVar(&cfg.contexts, "contexts", 2, "libsana contexts = generations run in parallel")
	flag.IntVar(&cfg.threads, "threads", 0, "CPU threads per context (0 = one per core)")
	flag.IntVar(&cfg.queue, "queue", 64, "requests that may wait for a context")
	flag.IntVar(&cfg.width, "width", 1024, "default width (the web page's too)")
	flag.IntVar(&cfg.height, "height", 1024, "default height")
	flag.IntVar(&cfg.steps, "steps", 0, "default steps (0 = the model's)")
	flag.BoolVar(&cfg.shareModel, "share-model", true, "one model for all contexts (false: a copy per context)")
	flag.Parse()
	if cfg.model == "" {
		fmt.Fprintln(os.Stderr, "sana-service: -model is required")
		os.Exit(2)
	}
	if err := run(cfg); err != nil {
		log.Fatalf("sana-service: %v", err)
	}
}

func run(cfg config) error {
	backend := map[string]sana.Backend{"auto": sana.BackendAuto, "cpu": sana.BackendCPU, "cuda": sana.BackendCUDA}
	b, ok := backend[cfg.backend]
	if !ok {
		return fmt.Errorf("unknown -backend %q", cfg.backend)
	}
	pool, err := newPool(cfg.model, cfg.contexts, cfg.queue,
		&sana.ContextOptions{Backend: b, Threads: cfg.threads}, cfg.shareModel)
	if err != nil {
		return err
	}
	defer pool.Close()

	ln, err := net.Listen("tcp", cfg.addr)
	if err != nil {
		return err
	}
	port := ln.Addr().(*net.TCPAddr).Port
	srv := &http.Server{Handler: newServer(pool, cfg), ReadHeaderTimeout: 10 * time.Second}
	if cfg.portFile != "" {
		if err := os.WriteFile(cfg.portFile, []byte(fmt.Sprint(port)), 0o644); err != nil {
			return err
		}
	}
	log.Printf("sana-service: libsana %s, model %s, %d contexts, listening on http://%s/",
		sana.Version(), cfg.model, cfg.contexts, ln.Addr())

	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGINT, syscall.SIGTERM)
	go func() {
		<-stop
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		srv.Shutdown(ctx)
	}()
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
