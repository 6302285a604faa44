package sana

import (
	"context"
	"errors"
	"image"
	"math"
	"path/filepath"
	"strings"
	"testing"
)

// The low-level stages on tests/fixtures: EncodePrompt -> FillNoise -> Denoise -> DecodeLatents
// gives Generate's image byte for byte, as in C (96x64 pixels, latents [1, 32, 2, 3]).

const stageW, stageH, stagePrompt = 96, 64, "a red fox"

func loadFixture(t *testing.T, c *Context, name string, comp Component) *Model {
	t.Helper()
	m, err := c.LoadModel(filepath.Join(fixturesDir(), name), &ModelOptions{Components: comp})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Close() })
	return m
}

func latentShape(t *testing.T, m *Model) []int64 {
	t.Helper()
	i, err := m.Info()
	if err != nil {
		t.Fatal(err)
	}
	f := int64(i.VAEScaleFactor)
	return []int64{1, int64(i.LatentChannels), stageH / f, stageW / f}
}

func mustTensor(t *testing.T, shape []int64, data []float32) *Tensor {
	t.Helper()
	x, err := NewTensor(shape, data)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { x.Close() })
	return x
}

func TestStagesReproduceGenerate(t *testing.T) {
	c := cpuContext(t)
	m := loadFixture(t, c, "sana_tiny", ComponentAll)
	bg := context.Background()
	emb, mask, err := c.EncodePrompt(bg, m, []string{stagePrompt}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer emb.Close()
	defer mask.Close()
	// The negative prompt "" without the complex human instruction, as sana_generate does.
	uemb, umask, err := c.EncodePrompt(bg, m, []string{""}, &EncodeOptions{NoComplexHumanInstruct: true})
	if err != nil {
		t.Fatal(err)
	}
	defer uemb.Close()
	defer umask.Close()
	s, err := m.NewSampler(SamplerOptions{Steps: 2})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for _, seed := range []uint64{5, 6} { // one prompt's embeddings, many seeds
		lat := mustTensor(t, latentShape(t, m), nil)
		if err := lat.FillNoise(NoiseTorchCPU, seed); err != nil {
			t.Fatal(err)
		}
		var steps []int
		err := c.Denoise(bg, m, lat, DenoiseOptions{Embeddings: emb, Mask: mask, UncondEmbeddings: uemb,
			UncondMask: umask, Sampler: s, GuidanceScale: 4.5,
			Progress: func(step, n int) bool { steps = append(steps, step); return true }})
		if err != nil || len(steps) != 2 {
			t.Fatalf("denoise: %v, progress %v", err, steps)
		}
		imgs, err := c.DecodeLatents(bg, m, lat, nil)
		if err != nil || len(imgs) != 1 {
			t.Fatalf("decode: %v (%d images)", err, len(imgs))
		}
		want, err := c.Generate(bg, m, GenerateOptions{Prompt: stagePrompt, Width: stageW, Height: stageH,
			Steps: 2, Seed: seed, GuidanceScale: 4.5, NoResolutionBinning: true})
		if err != nil {
			t.Fatal(err)
		}
		if imgs[0].Bounds() != want.Bounds() || string(imgs[0].Pix) != string(want.Pix) {
			t.Fatalf("seed %d: the stages' image differs from Generate's", seed)
		}
	}
}

func TestSprintStagesReproduceGenerate(t *testing.T) {
	c := cpuContext(t)
	m := loadFixture(t, c, "sprint_tiny", ComponentAll)
	bg := context.Background()
	const seed = 3
	emb, mask, err := c.EncodePrompt(bg, m, []string{stagePrompt}, nil)
	if err != nil {
		t.Fatal(err)
	}
	noise := mustTensor(t, latentShape(t, m), nil)
	if err := noise.FillNoise(NoiseTorchCPU, seed); err != nil {
		t.Fatal(err)
	}
	x, _ := noise.Data()
	for i := range x {
		x[i] *= 0.5 // SCM: latents = randn * sigma_data
	}
	lat := mustTensor(t, noise.Shape(), x)
	// Denoise's seed continues the initial noise's generator (the SCM renoise draws).
	if err := c.Denoise(bg, m, lat, DenoiseOptions{Embeddings: emb, Mask: mask, Seed: seed}); err != nil {
		t.Fatal(err)
	}
	imgs, err := c.DecodeLatents(bg, m, lat, nil)
	if err != nil {
		t.Fatal(err)
	}
	want, err := c.Generate(bg, m, GenerateOptions{Prompt: stagePrompt, Width: stageW, Height: stageH,
		Seed: seed, NoResolutionBinning: true})
	if err != nil {
		t.Fatal(err)
	}
	if string(imgs[0].Pix) != string(want.Pix) {
		t.Fatal("Sprint: the stages' image differs from Generate's")
	}
}

func TestPromptTensors(t *testing.T) {
	c := cpuContext(t)
	m := loadFixture(t, c, "sana_tiny", ComponentAll)
	emb, mask, err := c.EncodePrompt(context.Background(), m, []string{"a red fox", "a cat"},
		&EncodeOptions{MaxSequenceLength: 40})
	if err != nil {
		t.Fatal(err)
	}
	info, _ := m.Info()
	if s := emb.Shape(); len(s) != 3 || s[0] != 2 || s[1] != 40 || s[2] != int64(info.TextHiddenSize) {
		t.Fatalf("embeddings shape %v", s)
	}
	if s := mask.Shape(); len(s) != 2 || s[0] != 2 || s[1] != 40 || mask.Numel() != 80 {
		t.Fatalf("mask shape %v", s)
	}
	k, err := mask.Data()
	if err != nil || len(k) != 80 || k[0] != 1 || k[39] != 0 {
		t.Fatalf("mask %v %v", k, err)
	}
	e, _ := emb.Data()
	same := true
	for i := 0; i < len(e)/2; i++ {
		if math.IsNaN(float64(e[i])) {
			t.Fatal("NaN in the embeddings")
		}
		same = same && e[i] == e[i+len(e)/2]
	}
	if same {
		t.Fatal("two prompts, one embedding")
	}
	// Padding rows are zero by default and computed with ExactPadding.
	exact, emask, err := c.EncodePrompt(context.Background(), m, []string{"a red fox", "a cat"},
		&EncodeOptions{MaxSequenceLength: 40, ExactPadding: true})
	if err != nil {
		t.Fatal(err)
	}
	x, _ := exact.Data()
	h := len(e) / len(k)
	var zeroPad, exactPad int
	for r := range k {
		if k[r] != 0 {
			continue
		}
		for j := 0; j < h; j++ {
			if e[r*h+j] != 0 {
				zeroPad = -1
			}
			if x[r*h+j] != 0 {
				exactPad++
			}
		}
	}
	if zeroPad != 0 || exactPad == 0 {
		t.Fatalf("pad rows: default nonzero %v, exact has %d nonzero values", zeroPad != 0, exactPad)
	}
	exact.Close()
	emask.Close()
	// A released text encoder refuses to encode; what it encoded stays valid.
	if err := m.ReleaseTextEncoder(); err != nil {
		t.Fatal(err)
	}
	_, _, err = c.EncodePrompt(context.Background(), m, []string{"a cat"}, nil)
	if !errors.Is(err, &Error{Status: Unsupported}) || !strings.Contains(err.Error(), "released") {
		t.Fatalf("after ReleaseTextEncoder: %v", err)
	}
	if emb.Numel() == 0 {
		t.Fatal("embeddings gone")
	}
}

func TestTensorData(t *testing.T) {
	data := []float32{0.5, -1.25, 3, 4, 5, 6}
	x := mustTensor(t, []int64{2, 3}, data)
	got, err := x.Data()
	if err != nil || len(got) != 6 || got[1] != -1.25 || got[5] != 6 {
		t.Fatalf("%v %v", got, err)
	}
	got[0] = 99 // a copy
	if again, _ := x.Data(); again[0] != 0.5 {
		t.Fatal("Data is not a copy")
	}
	_, err = NewTensor([]int64{2, 3}, data[:5])
	if !errors.Is(err, &Error{Status: InvalidArgument}) || !strings.Contains(err.Error(), "holds 5 floats") {
		t.Fatalf("short data: %v", err)
	}
	for _, bad := range [][]int64{nil, {2, 0}, {1, 2, 3, 4, 5}, {-1}} {
		_, err := NewTensor(bad, nil)
		var e *Error
		if !errors.As(err, &e) || e.Status != InvalidArgument || !strings.Contains(e.Message, "tensor") {
			t.Fatalf("shape %v: %v", bad, err)
		}
	}
	// Closed: ErrClosed, never a crash.
	x.Close()
	x.Close()
	if x.Shape() != nil || x.Numel() != 0 {
		t.Fatal("a closed tensor has a shape")
	}
	if _, err := x.Data(); err != ErrClosed {
		t.Fatalf("Data after Close: %v", err)
	}
	if err := x.FillNoise(NoiseTorchCPU, 1); err != ErrClosed {
		t.Fatalf("FillNoise after Close: %v", err)
	}
}

func TestStageErrors(t *testing.T) {
	c := cpuContext(t)
	m := loadFixture(t, c, "sana_tiny", ComponentTransformer|ComponentVAE|ComponentScheduler)
	bg := context.Background()
	shape := latentShape(t, m)
	// Latents of the wrong shape into the decoder: the library's error, no image.
	for _, bad := range [][]int64{{1, shape[1] + 1, 2, 3}, {1, shape[1], 2}, {2, 3}} {
		imgs, err := c.DecodeLatents(bg, m, mustTensor(t, bad, nil), nil)
		var e *Error
		if !errors.As(err, &e) || e.Status != InvalidArgument || e.Call != "sana_decode_latents" || imgs != nil {
			t.Fatalf("decode %v: %v", bad, err)
		}
	}
	lat := mustTensor(t, shape, nil)
	err := c.Denoise(bg, m, lat, DenoiseOptions{Embeddings: mustTensor(t, []int64{1, 7, 5}, nil)})
	if !errors.Is(err, &Error{Status: InvalidArgument}) || !strings.Contains(err.Error(), "embeddings") {
		t.Fatalf("denoise with bad embeddings: %v", err)
	}
	if err := c.Denoise(bg, m, lat, DenoiseOptions{}); !errors.Is(err, &Error{Status: InvalidArgument}) {
		t.Fatalf("denoise without embeddings: %v", err)
	}
	// No text encoder loaded.
	if _, _, err := c.EncodePrompt(bg, m, []string{"a cat"}, nil); !errors.Is(err, &Error{Status: Unsupported}) {
		t.Fatalf("encode without a text encoder: %v", err)
	}
	// Encode an image and decode it back: the shapes line up.
	z, err := c.EncodeImage(bg, m, image.NewRGBA(image.Rect(0, 0, stageW, stageH)))
	if err != nil {
		t.Fatal(err)
	}
	if s := z.Shape(); len(s) != 4 || s[1] != shape[1] || s[2] != shape[2] || s[3] != shape[3] {
		t.Fatalf("encoded shape %v", s)
	}
	if imgs, err := c.DecodeLatents(bg, m, z, nil); err != nil || imgs[0].Bounds().Dx() != stageW {
		t.Fatalf("decode of encoded: %v", err)
	}
	if _, err := c.EncodeImage(bg, m, image.NewRGBA(image.Rect(0, 0, 40, 40))); !errors.Is(err, &Error{Status: InvalidArgument}) {
		t.Fatalf("encode 40x40: %v", err)
	}
	// Closed tensors, a cancelled Go context, a closed model and context: errors, not crashes.
	z.Close()
	if _, err := c.DecodeLatents(bg, m, z, nil); err != ErrClosed {
		t.Fatalf("decode of a closed tensor: %v", err)
	}
	done, cancel := context.WithCancel(bg)
	cancel()
	if _, err := c.DecodeLatents(done, m, lat, nil); !errors.Is(err, context.Canceled) {
		t.Fatalf("decode with a cancelled context: %v", err)
	}
	m.Close()
	if _, err := c.DecodeLatents(bg, m, lat, nil); err != ErrClosed {
		t.Fatalf("decode with a closed model: %v", err)
	}
	c.Close()
	if _, _, err := c.EncodePrompt(bg, m, []string{"a"}, nil); err != ErrClosed {
		t.Fatalf("encode on a closed context: %v", err)
	}
}

func TestDenoiseCancelledByContext(t *testing.T) {
	c := cpuContext(t)
	m := loadFixture(t, c, "sana_tiny", ComponentAll)
	emb, mask, err := c.EncodePrompt(context.Background(), m, []string{stagePrompt}, nil)
	if err != nil {
		t.Fatal(err)
	}
	s, _ := m.NewSampler(SamplerOptions{Steps: 5})
	defer s.Close()
	lat := mustTensor(t, latentShape(t, m), nil)
	goctx, cancel := context.WithCancel(context.Background())
	var steps []int
	err = c.Denoise(goctx, m, lat, DenoiseOptions{Embeddings: emb, Mask: mask, Sampler: s,
		Progress: func(step, n int) bool { steps = append(steps, step); cancel(); return step < 2 }})
	if !errors.Is(err, &Error{Status: Cancelled}) || len(steps) >= 5 {
		t.Fatalf("want a Cancelled error before step 5: %v after %v", err, steps)
	}
}

func TestTokenizer(t *testing.T) {
	tok, err := LoadTokenizer(filepath.Join(fixturesDir(), "sana_tiny", "tokenizer"))
	if err != nil {
		t.Fatal(err)
	}
	defer tok.Close()
	if tok.VocabSize() != 256000 {
		t.Fatalf("vocab %d", tok.VocabSize())
	}
	// The ids tests/test_tokenizer.c expects of the public API: <bos> "a" " cat".
	ids, err := tok.Encode("a cat", true)
	if err != nil || len(ids) != 3 || ids[0] != 2 || ids[1] != 235250 || ids[2] != 4401 {
		t.Fatalf("ids %v %v", ids, err)
	}
	for _, text := range []string{"a cat", "Grüße, 東京! a  b", ""} {
		ids, err := tok.Encode(text, true)
		if err != nil {
			t.Fatal(err)
		}
		back, err := tok.Decode(ids, true)
		if err != nil || back != text {
			t.Fatalf("%q -> %v -> %q (%v)", text, ids, back, err)
		}
	}
	if s, _ := tok.Decode([]int32{2, 235250, 4401}, false); s != "<bos>a cat" {
		t.Fatalf("with specials: %q", s)
	}
	if _, err := tok.Decode([]int32{300000}, true); !errors.Is(err, &Error{Status: InvalidArgument}) {
		t.Fatalf("id outside the vocabulary: %v", err)
	}
	if _, err := LoadTokenizer("/nonexistent/tok"); !errors.Is(err, &Error{Status: NotFound}) ||
		!strings.Contains(err.Error(), "/nonexistent/tok") {
		t.Fatalf("missing tokenizer: %v", err)
	}
	tok.Close()
	if _, err := tok.Encode("a", true); err != ErrClosed {
		t.Fatalf("after Close: %v", err)
	}
	if _, err := tok.Decode([]int32{2}, true); err != ErrClosed || tok.VocabSize() != 0 {
		t.Fatalf("after Close: %v", err)
	}
}
