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

// Tokenizer is Gemma's tokenizer.json on its own (no model needed). Close it when done.
type Tokenizer struct {
	mu  sync.RWMutex
	ptr *C.sana_tokenizer
}

// LoadTokenizer loads a tokenizer.json file, or a folder holding one (and
// tokenizer_config.json for the BOS/EOS settings).
func LoadTokenizer(path string) (*Tokenizer, error) {
	cpath := C.CString(path)
	defer C.free(unsafe.Pointer(cpath))
	runtime.LockOSThread() // sana_last_error() is per OS thread
	defer runtime.UnlockOSThread()
	var out *C.sana_tokenizer
	if err := newError(C.sana_tokenizer_load(cpath, &out), "sana_tokenizer_load", nil); err != nil {
		return nil, err
	}
	t := &Tokenizer{ptr: out}
	runtime.SetFinalizer(t, func(t *Tokenizer) { t.Close() })
	return t, nil
}

// Close frees the tokenizer. Safe to call more than once.
func (t *Tokenizer) Close() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.ptr != nil {
		C.sana_tokenizer_free(t.ptr)
		t.ptr = nil
	}
	runtime.SetFinalizer(t, nil)
	return nil
}

// VocabSize is the number of ids; 0 once closed.
func (t *Tokenizer) VocabSize() int {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return int(C.sana_tokenizer_vocab_size(t.ptr)) // 0 for NULL
}

// Encode gives the token ids of UTF-8 text (BOS first when addSpecial), as the Python
// `tokenizers` package does. Invalid UTF-8 reads as U+FFFD; nothing is truncated.
func (t *Tokenizer) Encode(text string, addSpecial bool) ([]int32, error) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	if t.ptr == nil {
		return nil, ErrClosed
	}
	b := []byte(text) // Go memory without pointers may be passed to C
	var ptext *C.char
	if len(b) > 0 {
		ptext = (*C.char)(unsafe.Pointer(&b[0]))
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var n C.size_t
	if err := newError(C.sana_tokenizer_encode(t.ptr, ptext, C.size_t(len(b)), cbool(addSpecial), nil, 0, &n), "sana_tokenizer_encode", nil); err != nil {
		return nil, err
	}
	ids := make([]int32, int(n))
	if n == 0 {
		return ids, nil
	}
	if err := newError(C.sana_tokenizer_encode(t.ptr, ptext, C.size_t(len(b)), cbool(addSpecial),
		(*C.int32_t)(unsafe.Pointer(&ids[0])), n, &n), "sana_tokenizer_encode", nil); err != nil {
		return nil, err
	}
	return ids[:int(n)], nil
}

// Decode gives the UTF-8 text of ids (special tokens skipped when skipSpecial). An id outside
// the vocabulary is an InvalidArgument error.
func (t *Tokenizer) Decode(ids []int32, skipSpecial bool) (string, error) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	if t.ptr == nil {
		return "", ErrClosed
	}
	var pids *C.int32_t
	if len(ids) > 0 {
		pids = (*C.int32_t)(unsafe.Pointer(&ids[0]))
	}
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var n C.size_t
	if err := newError(C.sana_tokenizer_decode(t.ptr, pids, C.size_t(len(ids)), cbool(skipSpecial), nil, 0, &n), "sana_tokenizer_decode", nil); err != nil {
		return "", err
	}
	buf := make([]byte, int(n)+1)
	if err := newError(C.sana_tokenizer_decode(t.ptr, pids, C.size_t(len(ids)), cbool(skipSpecial),
		(*C.char)(unsafe.Pointer(&buf[0])), n+1, &n), "sana_tokenizer_decode", nil); err != nil {
		return "", err
	}
	return string(buf[:int(n)]), nil
}

func cbool(b bool) C.int32_t {
	if b {
		return 1
	}
	return 0
}
