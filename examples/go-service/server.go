package main

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"image/png"
	"log"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"libsana.dev/sana"
)

//go:embed page.html
var pageHTML string

var page = template.Must(template.New("page").Parse(pageHTML))

type server struct {
	pool *pool
	cfg  config
	mux  *http.ServeMux
}

func newServer(p *pool, cfg config) http.Handler {
	s := &server{pool: p, cfg: cfg, mux: http.NewServeMux()}
	s.mux.HandleFunc("/v1/images/generations", s.generate)
	s.mux.HandleFunc("/healthz", s.health)
	s.mux.HandleFunc("/", s.index)
	return s.mux
}

// request is the JSON body. "size": "WxH" (OpenAI style) or width/height.
type request struct {
	Prompt         string  `json:"prompt"`
	NegativePrompt string  `json:"negative_prompt"`
	Size           string  `json:"size"`
	Width          int     `json:"width"`
	Height         int     `json:"height"`
	Steps          int     `json:"steps"`
	Seed           *uint64 `json:"seed"`
	GuidanceScale  float32 `json:"guidance_scale"`
	PAGScale       float32 `json:"pag_scale"`
	N              int     `json:"n"`
}

type apiError struct {
	Error struct {
		Status  string `json:"status"`
		Message string `json:"message"`
	} `json:"error"`
}

func writeError(w http.ResponseWriter, code int, status, message string) {
	var e apiError
	e.Error.Status, e.Error.Message = status, message
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(e)
}

func (s *server) generate(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST")
		writeError(w, http.StatusMethodNotAllowed, "method_not_allowed", "use POST with a JSON body")
		return
	}
	var req request
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20))
	if err := dec.Decode(&req); err != nil {
		writeError(w, http.StatusBadRequest, "invalid_json", err.Error())
		return
	}
	if strings.TrimSpace(req.Prompt) == "" {
		writeError(w, http.StatusBadRequest, "invalid_request", "prompt is required")
		return
	}
	if req.N > 1 {
		writeError(w, http.StatusBadRequest, "invalid_request", "n > 1 is not supported: one PNG per request")
		return
	}
	if req.Size != "" {
		if _, err := fmt.Sscanf(req.Size, "%dx%d", &req.Width, &req.Height); err != nil {
			writeError(w, http.StatusBadRequest, "invalid_request", "size must look like 512x512")
			return
		}
	}
	opts := sana.GenerateOptions{
		Prompt: req.Prompt, NegativePrompt: req.NegativePrompt,
		Width: pick(req.Width, s.cfg.width), Height: pick(req.Height, s.cfg.height),
		Steps: pick(req.Steps, s.cfg.steps), GuidanceScale: req.GuidanceScale, PAGScale: req.PAGScale,
	}
	if req.Seed != nil {
		opts.Seed = *req.Seed
	} else {
		opts.Seed = uint64(time.Now().UnixNano())
	}
	t0 := time.Now()
	img, err := s.pool.Generate(r.Context(), opts)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		writeError(w, http.StatusInternalServerError, "png", err.Error())
		return
	}
	w.Header().Set("Content-Type", "image/png")
	w.Header().Set("X-Sana-Seed", strconv.FormatUint(opts.Seed, 10))
	w.Header().Set("X-Sana-Milliseconds", strconv.FormatInt(time.Since(t0).Milliseconds(), 10))
	w.Write(buf.Bytes())
	log.Printf("generated %dx%d seed %d in %v: %q", opts.Width, opts.Height, opts.Seed,
		time.Since(t0).Round(time.Millisecond), req.Prompt)
}

// fail maps libsana's status to an HTTP code; the body carries the status and the message.
func (s *server) fail(w http.ResponseWriter, r *http.Request, err error) {
	var se *sana.Error
	switch {
	case errors.Is(err, ErrBusy):
		writeError(w, http.StatusServiceUnavailable, "busy", err.Error())
	case r.Context().Err() != nil: // the client left; nobody reads this
		writeError(w, 499, "cancelled", err.Error())
	case errors.As(err, &se):
		code := http.StatusInternalServerError
		switch se.Status {
		case sana.InvalidArgument:
			code = http.StatusBadRequest
		case sana.Unsupported:
			code = http.StatusNotImplemented
		case sana.OutOfMemory:
			code = http.StatusInsufficientStorage
		case sana.Cancelled:
			code = http.StatusServiceUnavailable
		}
		name := se.Status.String()
		if i := strings.IndexByte(name, ':'); i > 0 {
			name = name[:i]
		}
		writeError(w, code, name, se.Message)
	default:
		writeError(w, http.StatusInternalServerError, "error", err.Error())
	}
	log.Printf("request failed: %v", err)
}

func (s *server) health(w http.ResponseWriter, r *http.Request) {
	info, err := s.pool.model.Info()
	if err != nil {
		writeError(w, http.StatusInternalServerError, "error", err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]interface{}{
		"libsana": sana.Version(), "model": s.cfg.model, "model_kind": int(info.Kind),
		"contexts": len(s.pool.contexts), "queued": atomic.LoadInt64(&s.pool.queued),
		"running": atomic.LoadInt64(&s.pool.running), "served": atomic.LoadInt64(&s.pool.served),
	})
}

func (s *server) index(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/" {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	page.Execute(w, map[string]interface{}{"Width": s.cfg.width, "Height": s.cfg.height,
		"Steps": s.cfg.steps, "Version": sana.Version()})
}

func pick(v, def int) int {
	if v > 0 {
		return v
	}
	return def
}
